"""The checks of `Tagger`'s arguments made before any library call: Python can name the
sentence, token or option at fault where the library would see only bytes."""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Iterable, List, Optional

from . import _library
from ._library import TrellisError
from .results import _dumps


def _type_name(value: object) -> str:
    """`value`'s type as an error names it: `int`, or with its module where that is not
    Python's own (`numpy.bool`, which was named `bool` in "must be a bool, not bool")."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else (
        f"{kind.__module__}.{kind.__qualname__}")


def _token_array(index: int, tokens: Iterable[str]) -> str:
    """Sentence `index`'s tokens as a JSON array (a list or tuple without a copy). Anything
    but an ordered collection of strings is a `TypeError` naming the sentence, or the token
    and its type: a set's order is not the sentence's, and a token that is not a string
    stopped the JSON encoder without saying where (bytes, a spaCy Token) or reached the
    library as JSON the caller never wrote (NaN)."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(
            f"sentence {index} is {'a string' if isinstance(tokens, str) else 'bytes'}; pass "
            "token lists of str (for one sentence, [tokens]), or use tag_texts for raw text")
    if isinstance(tokens, (AbstractSet, Mapping)):
        raise TypeError(f"sentence {index} is a {_type_name(tokens)}, whose order is not "
                        "the sentence's; pass its tokens as a list")
    if type(tokens) not in (list, tuple):
        try:
            iterator = iter(tokens)
        except TypeError:
            raise TypeError(f"sentence {index} is {_type_name(tokens)}, not a list of "
                            "tokens") from None
        tokens = list(iterator)
    for position, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(
                f"sentence {index}, token {position} is {_type_name(token)}, not str")
    return _dumps(tokens)


def _integer(value: object, name: str, kind: str = "an int") -> int:
    """`value` as a Python int: an int, or a number of any type that `operator.index` reads
    as one (NumPy's `int64`, which was refused, where every count a NumPy program computes
    is one); not a bool, which is an int to Python but no count. A `TypeError` names the
    argument (`name` must be `kind`)."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            pass
    raise TypeError(f"{name} must be {kind}, not {_type_name(value)}")


def _check_batch_size(batch_size: object) -> int:
    """`batch_size` as an int, refused before any call if the library would not take it:
    ctypes would refuse a non-integer with an error naming the C argument, and cut one past
    32 bits."""
    batch_size = _integer(batch_size, "batch_size")
    if not 1 <= batch_size <= _library.BATCH_SIZE_LIMIT:
        raise ValueError(
            f"batch_size must be in 1...{_library.BATCH_SIZE_LIMIT} (got {batch_size})")
    return batch_size


def _check_threads(threads: object) -> Optional[int]:
    """`threads` as an int (None: the default), refused before any call if the library would
    not take it."""
    if threads is None:
        return None
    threads = _integer(threads, "threads", "an int or None")
    if not 1 <= threads <= _library.THREADS_LIMIT:
        raise ValueError(f"threads must be in 1...{_library.THREADS_LIMIT} (got {threads})")
    return threads


def _check_nbest(nbest: object, limit: Optional[int] = None) -> int:
    """`nbest` as an int, refused if it is not a whole number of sequences (a float, a bool)
    or is negative, and over `limit` with the library's `TrellisError` ('"nbest" must be in
    0...1000'): given by `Client`, whose call with no sentences reaches no check of the
    library or the server; the library checks its own."""
    nbest = _integer(nbest, "nbest")
    if nbest < 0:
        raise ValueError(f"nbest must be 0 (no list) or more (got {nbest})")
    if limit is not None and nbest > limit:
        raise TrellisError(f'"nbest" must be in 0...{limit} (got {nbest})')
    return nbest


def _check_flags(**flags: bool) -> None:
    """Refuses a flag that is not a bool: "no", or any other object, was taken by its truth
    value, so `confidence="no"` asked for confidences."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, not {_type_name(value)}")


def _unencodable(requests: List[str], error: UnicodeEncodeError) -> UnicodeEncodeError:
    """`error`, UTF-8's for the joined `requests`, which gives a position in them, as the
    error of the string that holds a lone surrogate (which UTF-8 cannot encode), naming its
    sentence and token, or its text."""
    for index, request in enumerate(requests):
        fields = json.loads(request)
        places = ([(f"text {index}", fields["text"])] if "text" in fields else
                  [(f"sentence {index}, token {t}", token)
                   for t, token in enumerate(fields["tokens"])])
        for place, string in places:
            try:
                string.encode()
            except UnicodeEncodeError as own:
                return UnicodeEncodeError(
                    own.encoding, string, own.start, own.end,
                    f"{place} is not valid Unicode (a lone surrogate)")
    return error
