"""What `Tagger.tag` returns: one `TaggingResult` per sentence, built from the library's
JSON-lines answer (the schema of `trellis tag --input jsonl`, README "JSON lines"), or from the
arrays of its token call (`trellis_tag_tokens`), whose spans and answer line are then written
on first use, as the library writes them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# The Unicode line ends, which the library's JSON escapes (a JSON-lines reader such as
# Python's `str.splitlines` may break a line at them); raw, they appear only inside strings.
_LINE_ENDS = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _dumps(value: Any) -> str:
    """`value` as JSON written as the library writes it: compact, and in strings the
    library's escapes (`"`, `\\`, control characters, and the Unicode line ends U+0085,
    U+2028 and U+2029), every other character as it is. Unescaped, a token call's answer line
    differed from the library's for a token holding a line end."""
    return _encode(value).translate(_LINE_ENDS)


@dataclass(slots=True)
class Span:
    """A labelled span of tokens `start:end` (end exclusive).

    `text` is its surface form. `start_char`/`end_char` locate it in code points (Python `str`
    indices): in the request's text for `tag_texts`, so `text == source[start_char:end_char]`,
    and in the tokens joined by single spaces for `tag`. In a spaCy Doc's result
    (`doc._.trellis`) `start`/`end` index the Doc's tokens and `start_char`/`end_char` its
    text, as `doc.ents` do, and `text == doc.text[start_char:end_char]`.
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

    A spaCy Doc's result (`doc._.trellis`) is in the Doc's coordinates: `tokens` are all its
    tokens, `text` is its text, and a whitespace token, which the model does not see, has
    None for its label and confidence; `json_line` is written in the same schema.
    """

    __slots__ = ("tokens", "labels", "confidences", "probability", "nbest", "nbest_truncated",
                 "text", "_spans", "_json_line", "_span_bounds", "_span_labels")

    def __init__(
        self,
        tokens: List[str],
        labels: List[Optional[str]],
        spans: List[Span],
        confidences: Optional[List[Optional[float]]] = None,
        probability: Optional[float] = None,
        nbest: Optional[List[Alternative]] = None,
        text: Optional[str] = None,
        json_line: Optional[str] = None,
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
        self._json_line: Optional[str] = json_line  # None: written when first read

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
            self._json_line = self._answer_line()
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

    def _answer_line(self) -> str:
        """The answer line the library writes for a request tagged without n-best lists
        (`Analysis`'s JSON: a text request's "text" first, then keys sorted, numbers in their
        shortest form); a label or confidence that is None (a spaCy Doc's whitespace token)
        is written null."""
        parts = ['{"text":', _dumps(self.text), ","] if self.text is not None else ["{"]
        if self.confidences is not None:
            parts += ['"confidences":[', ",".join(map(_number, self.confidences)), "],"]
        parts += ['"labels":', _dumps(self.labels)]
        if self.probability is not None:
            parts += [',"probability":', _number(self.probability)]
        parts.append(',"spans":[')
        # A span made without character offsets (by the caller) has them null ("None" was
        # written, which is no JSON).
        parts.append(",".join(
            f'{{"end":{s.end},"end_char":{_dumps(s.end_char)},"label":{_dumps(s.label)},'
            f'"start":{s.start},"start_char":{_dumps(s.start_char)},"text":{_dumps(s.text)}}}'
            for s in self.spans))
        parts += ['],"tokens":', _dumps(self.tokens), "}"]
        return "".join(parts)


def _number(value: Optional[float]) -> str:
    """`value` as the library writes a number: the shortest form that reads back as the same
    double, without a trailing ".0"; None as null; a NaN or an infinity, which JSON cannot
    hold, is a `ValueError`, as the library refuses to write one. Python's `repr` and Swift's
    `description` agree on every double but those in [2**53, 1e16), which Swift writes with an
    exponent; the values written here are probabilities, in [0, 1]."""
    if value is None:
        return "null"
    if not math.isfinite(value):
        raise ValueError(f"{value} cannot be written as a JSON number")
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text
