"""What `Tagger.tag` returns: one `TaggingResult` per sentence, built from the library's
JSON-lines answer (the schema of `trellis tag --input jsonl`, README "JSON lines"), or from the
arrays of its token call (`trellis_tag_tokens`), whose spans and answer line are then written
on first use, as the library writes them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON with non-ASCII as is: for strings, the library's escapes (`"`, `\\`, control
characters; nothing else)."""


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


_FIELDS = ("tokens", "labels", "spans", "confidences", "probability", "nbest",
           "nbest_truncated", "text", "json_line")


class TaggingResult:
    """One tagged sentence.

    `confidences` holds P(label | sentence) per token when asked for and the model's head
    defines probabilities (CRF, softmax), else None; `probability` is the whole sequence's.
    `nbest` lists the best label sequences, best first, when asked for (`nbest=K`, K >= 1);
    `nbest_truncated` is True when it holds fewer than K although more exist (a long
    sentence's list is cut to at most 2**25 / (tokens x labels) sequences).
    `json_line` is the library's answer as it wrote it, the bytes `trellis tag` writes.
    Results compare equal when all these fields do.
    """

    __slots__ = ("tokens", "labels", "confidences", "probability", "nbest", "nbest_truncated",
                 "text", "_spans", "_json_line", "_span_bounds", "_span_labels")

    def __init__(
        self,
        tokens: List[str],
        labels: List[str],
        spans: List[Span],
        confidences: Optional[List[float]] = None,
        probability: Optional[float] = None,
        nbest: Optional[List[Alternative]] = None,
        text: Optional[str] = None,
        json_line: str = "",
        nbest_truncated: bool = False,
    ) -> None:
        self.tokens = tokens
        self.labels = labels
        self._spans: Optional[List[Span]] = spans
        self.confidences = confidences
        self.probability = probability
        self.nbest = [] if nbest is None else nbest
        self.nbest_truncated = nbest_truncated
        self.text = text
        self._json_line: Optional[str] = json_line

    @classmethod
    def from_token_call(
        cls,
        tokens: List[str],
        labels: List[str],
        confidences: Optional[List[float]],
        probability: Optional[float],
        span_bounds: Sequence[int],
        span_labels: Mapping[str, str],
    ) -> "TaggingResult":
        """A result of `trellis_tag_tokens` for a token request: `span_bounds` is its spans'
        (start, end) pairs, flat, and `span_labels` maps a label to the label of a span that
        starts with it. Spans and the answer line are written when first read."""
        result = cls.__new__(cls)
        result.tokens = tokens
        result.labels = labels
        result.confidences = confidences
        result.probability = probability
        result.nbest = []
        result.nbest_truncated = False
        result.text = None
        result._spans = None
        result._json_line = None
        result._span_bounds = span_bounds
        result._span_labels = span_labels
        return result

    @classmethod
    def concatenated(cls, results: Sequence["TaggingResult"]) -> "TaggingResult":
        """One result for tagged sentences read one after another, as a token request of all
        their tokens would read (a single result is returned as it is): tokens, labels and
        confidences joined, spans moved to the joined tokens (`start_char` into them joined by
        single spaces, as for `tag`), and the probability the product of the sentences' (they
        were tagged independently). The results have no n-best lists and no text."""
        if len(results) == 1:
            return results[0]
        result = cls.__new__(cls)
        result.tokens = [token for part in results for token in part.tokens]
        result.labels = [label for part in results for label in part.labels]
        confidences = [part.confidences for part in results]
        result.confidences = (None if None in confidences
                              else [value for part in confidences for value in part])
        probabilities = [part.probability for part in results]
        result.probability = None if None in probabilities else math.prod(probabilities)
        result.nbest = []
        result.nbest_truncated = False
        result.text = None
        result._json_line = None
        result._spans = []
        tokens = characters = 0  # where the next sentence starts, in tokens and in the join
        for part in results:
            result._spans += [
                Span(span.label, span.start + tokens, span.end + tokens, span.text,
                     span.start_char + characters, span.end_char + characters)
                for span in part.spans
            ]
            tokens += len(part.tokens)
            characters += sum(len(token) + 1 for token in part.tokens)
        return result

    @property
    def spans(self) -> List[Span]:
        if self._spans is None:
            self._spans = self._token_spans()
        return self._spans

    @spans.setter
    def spans(self, spans: List[Span]) -> None:
        self._spans = spans

    @property
    def json_line(self) -> str:
        if self._json_line is None:
            self._json_line = self._token_answer_line()
        return self._json_line

    @json_line.setter
    def json_line(self, line: str) -> None:
        self._json_line = line

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
            get("nbest_truncated", False),
        )

    def as_dict(self) -> Dict[str, Any]:
        """The answer as a JSON-ready dict, with the library's fields in its order."""
        return json.loads(self.json_line)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaced

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"TaggingResult({fields})"

    def _token_spans(self) -> List[Span]:
        """The spans of a token call: their text is the tokens joined by single spaces, and
        `start_char`/`end_char` index that join (as the library locates them)."""
        tokens, bounds = self.tokens, self._span_bounds
        starts = [0]  # starts[k]: where token k starts in the join; one past the end, + 1
        for token in tokens:
            starts.append(starts[-1] + len(token) + 1)
        return [
            Span(self._span_labels[self.labels[start]], start, end,
                 " ".join(tokens[start:end]), starts[start], starts[end] - 1)
            for start, end in zip(bounds[::2], bounds[1::2])
        ]

    def _token_answer_line(self) -> str:
        """The answer line the library writes for a token request tagged without n-best
        lists (`Analysis`'s JSON: keys sorted, numbers in their shortest form)."""
        parts = ["{"]
        if self.confidences is not None:
            parts += ['"confidences":[', ",".join(map(_number, self.confidences)), "],"]
        parts += ['"labels":', _dumps(self.labels)]
        if self.probability is not None:
            parts += [',"probability":', _number(self.probability)]
        parts.append(',"spans":[')
        parts.append(",".join(
            f'{{"end":{s.end},"end_char":{s.end_char},"label":{_dumps(s.label)},'
            f'"start":{s.start},"start_char":{s.start_char},"text":{_dumps(s.text)}}}'
            for s in self.spans))
        parts += ['],"tokens":', _dumps(self.tokens), "}"]
        return "".join(parts)


def _number(value: float) -> str:
    """`value` as the library writes a number: the shortest form that reads back as the same
    double, without a trailing ".0"; a NaN or an infinity, which JSON cannot hold, is a
    `ValueError`, as the library refuses to write one. Python's `repr` and Swift's
    `description` agree on every double but those in [2**53, 1e16), which Swift writes with an
    exponent; the values written here are probabilities, in [0, 1]."""
    if not math.isfinite(value):
        raise ValueError(f"{value} cannot be written as a JSON number")
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text
