"""What `Tagger.tag` returns: one `TaggingResult` per sentence, built from the library's
JSON-lines answer (the schema of `trellis tag --input jsonl`, README "JSON lines")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass(slots=True)
class Span:
    """A labelled span of tokens `start:end` (end exclusive).

    `text` is its surface form. `start_char`/`end_char` locate it in code points (Python `str`
    indices): in the request's text for `tag_texts`, so `text == source[start_char:end_char]`,
    and in the tokens joined by single spaces for `tag`.
    """

    label: str
    start: int
    end: int
    text: str
    start_char: Optional[int] = None
    end_char: Optional[int] = None


@dataclass(slots=True)
class Alternative:
    """One of the n best label sequences: its labels, score and (CRF, softmax) probability."""

    labels: List[str]
    score: float
    probability: Optional[float]


@dataclass(slots=True)
class TaggingResult:
    """One tagged sentence.

    `confidences` holds P(label | sentence) per token when asked for and the model's head
    defines probabilities (CRF, softmax), else None; `probability` is the whole sequence's.
    `nbest` lists the best label sequences, best first, when more than one was asked for.
    `json_line` is the library's answer as it wrote it, the bytes `trellis tag` writes.
    """

    tokens: List[str]
    labels: List[str]
    spans: List[Span]
    confidences: Optional[List[float]] = None
    probability: Optional[float] = None
    nbest: List[Alternative] = field(default_factory=list)
    text: Optional[str] = None
    json_line: str = ""

    @classmethod
    def from_json_line(cls, line: str) -> "TaggingResult":
        """Reads one answer line; raises `ValueError` for an error answer."""
        return cls.from_answer(json.loads(line), line)

    @classmethod
    def from_answer(cls, answer: Dict[str, Any], line: str) -> "TaggingResult":
        """The result of a parsed answer `line`; raises `ValueError` for an error answer."""
        if "error" in answer:
            raise ValueError(answer["error"])
        get = answer.get
        return cls(
            answer["tokens"],
            answer["labels"],
            [
                Span(s["label"], s["start"], s["end"], s["text"], s.get("start_char"),
                     s.get("end_char"))
                for s in answer["spans"]
            ],
            get("confidences"),
            get("probability"),
            [Alternative(a["labels"], a["score"], a.get("probability"))
             for a in get("nbest", ())],
            get("text"),
            line,
        )

    def as_dict(self) -> Dict[str, Any]:
        """The answer as a JSON-ready dict, with the library's fields in its order."""
        return json.loads(self.json_line)
