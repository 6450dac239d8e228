"""`Tagger`: a Trellis model loaded through the C ABI."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import threading
from array import array
from collections.abc import Mapping
from contextlib import contextmanager
from itertools import chain
from typing import (Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Optional, Sequence,
                    Tuple,
                    Union)

from . import _library
from ._files import _write_whole
from ._library import TrellisError, _gate
from ._arguments import (_check_batch_size, _check_flags, _check_nbest, _check_threads,
                         _token_array, _type_name, _unencodable)
from .results import TaggingResult, _dumps


class Tagger:
    """A Trellis model, loaded from a file written by `trellis train`.

    Safe to use from several threads at once: each call tags on the library's own threads
    with the GIL released. `close()` (or a `with` block) frees the model once no call is
    using it; calls that start after it raise `TrellisError`. A process may fork while
    other threads tag: the fork waits for their calls to end.

    >>> tagger = Tagger("models/synthetic.model")
    >>> tagger.tag([["flights", "to", "boston"]])[0].spans
    [Span(label='toloc.city_name', start=2, end=3, text='boston', start_char=11, end_char=17)]
    """

    def __init__(self, model_path: Union[str, bytes, os.PathLike]) -> None:
        """Loads `model_path` (a str, bytes or path object; `TypeError` for anything else,
        `ValueError` for a path holding NUL, which the C string would cut short); raises
        `TrellisError` saying why a file cannot be loaded."""
        # First, as `close` (which `__del__` calls, also when this raises) reads them.
        # Re-entrant, as a signal handler that closes or uses the tagger may run on a thread
        # that holds it (the handler interrupted that thread there); a Lock waited for itself.
        # The lines it guards call nothing, and Python runs handlers only as a function starts,
        # after a call and at a loop's jump back, so a handler on the holding thread runs where
        # the lock was just taken or is being given back, and finds the handle, `_users` and
        # `_closing` as they stand.
        self._lock = threading.RLock()
        self._users = 0
        self._closing = False
        self._handle: Optional[int] = None
        path = os.fsdecode(model_path)
        if "\0" in path:
            raise ValueError("embedded null byte")
        # What the file was when loaded, so a copy of it (`copy_model_file`, a pickle) is
        # refused once it changes: the copy must be the model this tagger holds. Read before
        # the load and again after it, and loaded again when the two differ: a file replaced
        # during the load (a rename by `trellis train` or a deploy) was taken for the one
        # loaded, and a copy or pickle then held another model without a word.
        for _ in range(_LOAD_ATTEMPTS):
            before = _identity_of_path(path)
            # In the gate, as every call: a fork during a model's load (the process's first
            # loads the library and runs Swift's one-time set-up) left the child waiting.
            with _gate.call():
                self._handle = _library.load_model(path)
                info = _library.model_info(self._handle)
            self._loaded_file = _identity_of_path(path)
            if self._loaded_file is not None and self._loaded_file == before:
                break
            with _gate.call():
                handle, self._handle = self._handle, None
                _library.free_model(handle)
        else:
            raise TrellisError(
                f"{path}: the model file changed while it was loaded, {_LOAD_ATTEMPTS} times; "
                "load it again once it is written")
        self.path = path
        # The file is opened again (copies, pickles, `copy_model_file`) by this path, which a
        # later `os.chdir` does not move.
        self._absolute_path = _absolute(path)
        self._sha256: Optional[str] = None  # the file's, read when first pickled
        self._info: Dict[str, Any] = json.loads(info)
        # The tables of the token call: label ids to labels, labels to their spans' labels.
        self._output_labels: List[str] = self._info["outputLabels"]
        self._span_labels = dict(zip(self._output_labels, self._info["spanLabels"]))

    @property
    def labels(self) -> List[str]:
        """The labels tagging can give, in the training data's scheme ("B-toloc.city_name",
        "O"). A model trained in another scheme (`trellis train --scheme bioes`) holds labels
        of its own, which `info["labels"]` lists; its answers are converted to these."""
        return list(self._output_labels)

    @property
    def info(self) -> Dict[str, Any]:
        """What the model records, as `trellis_model_info` gives it and `trellis info --json`
        shows it: "labels", "configuration" (encoder, head, sizes, scheme), "provenance"
        (Trellis version, training recipe, data files and checksums, dev scores; absent for
        models built in code or read from a format-1 file), "formatVersion", "parameters",
        "file" (the path as given), "fileBytes", "missing" (why there is no provenance),
        "definesProbabilities" (whether the head gives confidences), "outputLabels" and
        "spanLabels" (the labels answers can hold, and the label of a span that starts with
        each: the token call's tables)."""
        return copy.deepcopy(self._info)

    def tag(
        self,
        sentences: Iterable[Sequence[str]],
        confidence: bool = False,
        nbest: int = 0,
        *,
        batch_size: int = _library.BATCH_SIZE,
        constrained: bool = True,
        threads: Optional[int] = None,
    ) -> List[TaggingResult]:
        """Tags tokenized sentences, returning one result per sentence, in order.

        sentences: token lists, e.g. `[["flights", "to", "boston"]]` (any iterable of token
            sequences, a generator too).
        confidence: add per-token `confidences` and the sentence `probability`.
        nbest: with K >= 1, `nbest` lists the K best label sequences (fewer when fewer exist,
            and at most 2**25 / (tokens x labels) for a long sentence), as `trellis tag
            --nbest K` does; 0, the default, lists none.
        batch_size: sentences per forward pass, 1 to 4096 (labels never depend on it).
        constrained: False decodes without the tag scheme's transition constraints.
        threads: the most threads the call tags on, 1 to 1024, the calling thread included
            (results never depend on it); None, the default, is one per core the process may
            use. A program tagging from several threads of its own gives each call its share.

        With `nbest`, or a token holding NUL, each sentence goes to the library as a JSON
        request (`tag_json_lines`), which holds at most 16 MiB: a longer one raises
        `TrellisError`, where the call without them tags it.
        """
        if isinstance(sentences, (str, bytes)):
            raise TypeError("sentences must be a list of token lists, not a string")
        if isinstance(sentences, Mapping):
            # Iterated, a dict gives its keys, which were then tagged as the sentences.
            raise TypeError("sentences must be a list of token lists, not a "
                            f"{_type_name(sentences)}; pass list(sentences.values())")
        batch_size, nbest = _check_batch_size(batch_size), _check_nbest(nbest)
        _check_flags(confidence=confidence, constrained=constrained)
        threads = _check_threads(threads)
        # Read once: the token call's checks and the JSON requests then see the same sentences.
        sentences = list(sentences)
        if nbest == 0:
            results = self._tag_tokens(sentences, confidence, batch_size, constrained, threads)
            if results is not None:
                return results
        requests = ['{"tokens":' + _token_array(index, tokens) + "}"
                    for index, tokens in enumerate(sentences)]
        return self._tag(
            requests, confidence, nbest, batch_size, constrained, threads, noun="sentence")

    def tag_texts(
        self,
        texts: Iterable[str],
        confidence: bool = False,
        nbest: int = 0,
        *,
        batch_size: int = _library.BATCH_SIZE,
        constrained: bool = True,
        threads: Optional[int] = None,
    ) -> List[TaggingResult]:
        """Tags raw strings, split by Trellis's tokenizer (README "JSON lines"): each result
        has `text`, its `tokens`, and spans with `start_char`/`end_char` into the text. The
        options are `tag`'s. Each text goes to the library as a JSON request, of at most 16 MiB
        (a longer one raises `TrellisError`)."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("texts must be a list of strings; for one text pass [text]")
        batch_size, nbest = _check_batch_size(batch_size), _check_nbest(nbest)
        _check_flags(confidence=confidence, constrained=constrained)
        threads = _check_threads(threads)
        requests = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {index} is {_type_name(text)}, not str")
            requests.append('{"text":' + _dumps(text) + "}")
        return self._tag(
            requests, confidence, nbest, batch_size, constrained, threads, noun="text")

    def tag_json_lines(self, requests: str, options: Optional[Dict[str, Any]] = None) -> str:
        """The library's own call: JSON-lines requests in, one answer line each out (bad
        lines answered with {"error": ...}), as `trellis tag --input jsonl` does. `options`
        takes the keys confidence, nbest, batch_size, constrained and threads. `ValueError` for
        requests holding NUL, which the C string would cut short (in JSON it is written
        \\u0000), and a `UnicodeEncodeError` (a `ValueError`) naming the line of a lone
        surrogate, which UTF-8 cannot encode."""
        if not isinstance(requests, str):
            raise TypeError(f"requests must be a str of JSON lines, not {_type_name(requests)}")
        nul = requests.find("\0")
        if nul >= 0:
            line = requests.count("\n", 0, nul) + 1
            raise ValueError(f"requests line {line} holds a NUL character, which would end the "
                             "C string there (in JSON, write it \\u0000)")
        try:
            lines = requests.encode()
        except UnicodeEncodeError as error:
            # UTF-8's error gives a position in all the requests: say which line.
            start = requests.rfind("\n", 0, error.start) + 1
            end = requests.find("\n", error.start)
            line = requests[start:] if end < 0 else requests[start:end]
            number = requests.count("\n", 0, start) + 1
            raise UnicodeEncodeError(
                error.encoding, line, error.start - start, error.end - start,
                f"requests line {number} is not valid Unicode (a lone surrogate)") from None
        # Options need no such check: their JSON escapes a NUL.
        encoded = _dumps(options).encode() if options else None
        with self._live_handle() as handle:
            return _library.tag_jsonl(handle, lines, encoded).decode()

    def close(self) -> None:
        """Frees the model, at once or when the last call using it ends; later tagging calls
        (`tag`, `tag_texts`, `tag_json_lines`) raise `TrellisError`. `labels` and `info`, read
        when the model was loaded, stay available, and a pickle or copy of a closed tagger
        loads its model file again, as of an open one."""
        # Inside the gate, as every use of `_lock` and every library call: a fork then never
        # leaves the lock held in the child.
        with _gate.call():
            with self._lock:
                self._closing = True
            self._free_if_unused()

    def __enter__(self) -> "Tagger":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Tagger({self.path!r})"

    def __reduce__(self) -> Tuple[Callable[[str, str], "Tagger"], Tuple[str, str]]:
        """Pickles by absolute path, and so copies (`copy.copy`, `copy.deepcopy`): the copy
        loads the file again, from any working directory, and owns its own handle. The handle
        is an address in this process, which means nothing in another, and two owners would
        free it twice. The file must still be the model this tagger loaded, or the copy would
        tag with another without a word: pickling raises `TrellisError` if the file changed
        since it was loaded, and so does unpickling if the file there holds other bytes than
        it did (the pickle holds their SHA-256)."""
        return _reloaded, (self._absolute_path, self._file_sha256())

    def copy_model_file(self, destination: Union[str, bytes, os.PathLike]) -> None:
        """Copies the model file this tagger loaded to `destination` (what a saved spaCy
        pipeline holds), whole or not at all (a temporary file beside it, renamed into place);
        raises `TrellisError` if the file changed since it was loaded. When `destination` is
        that file (a tagger's model saved onto itself) there is nothing to copy: a copy renamed
        onto it would be another file than the one loaded, which the tagger then refused to
        save or pickle as changed."""
        with self._unchanged_model_file() as source:
            if os.path.exists(destination) and os.path.samefile(source.fileno(), destination):
                return
            _write_whole(
                destination, lambda target: shutil.copyfileobj(source, target),
                replaces=_MODEL_MAGIC)

    def model_bytes(self) -> bytes:
        """The bytes of the model file this tagger loaded (what a spaCy pipeline's `to_bytes`
        holds); raises `TrellisError` if the file changed since it was loaded."""
        with self._unchanged_model_file() as source:
            return source.read()

    def _unchanged_model_file(self) -> BinaryIO:
        """The model file, open for reading, if it is still the one this tagger loaded."""
        try:
            source = open(self._absolute_path, "rb")
        except OSError as error:
            raise TrellisError(f"{self.path}: the model file cannot be read ({error.strerror}); "
                               "it is needed to save, copy or pickle this tagger") from None
        if _identity(os.fstat(source.fileno())) != self._loaded_file:
            source.close()
            raise TrellisError(
                f"{self.path}: the model file changed after it was loaded; load it again to "
                "save, copy or pickle it")
        return source

    def _file_sha256(self) -> str:
        """The SHA-256 of the model file this tagger loaded, read once; raises `TrellisError`
        if the file changed since it was loaded."""
        with self._unchanged_model_file() as source:
            if self._sha256 is None:
                digest = hashlib.sha256()
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                self._sha256 = digest.hexdigest()
        return self._sha256

    @contextmanager
    def _live_handle(self) -> Iterator[int]:
        """The model's handle for one library call, which `close` does not free until the
        call ends (another thread closing it meanwhile crashed the process)."""
        with _gate.call():
            counted = False
            # The count is taken inside the `try`: an exception from a signal handler (Ctrl-C)
            # as the lock was given back, after the count and before a `try` that followed,
            # kept the model from being freed for good.
            try:
                with self._lock:
                    handle = None if self._closing else self._handle
                    if handle:
                        self._users += 1
                        counted = True
                if not handle:
                    raise TrellisError("the tagger is closed")
                yield handle
            finally:
                if counted:
                    with self._lock:
                        self._users -= 1
                    self._free_if_unused()

    def _free_if_unused(self) -> None:
        """Frees the model once `close` was called and no call uses it (inside the gate)."""
        with self._lock:
            handle = self._handle if self._closing and self._users == 0 else None
            if handle:
                self._handle = None
        if handle:
            _library.free_model(handle)

    def _tag_tokens(
        self, sentences: List[Sequence[str]], confidence: bool, batch_size: int,
        constrained: bool, threads: Optional[int],
    ) -> Optional[List[TaggingResult]]:
        """`tag` without n-best lists through the token call, with no JSON either way; None
        for what only the JSON call takes or explains (sentences other than lists and tuples
        of strings, tokens holding NUL, strings Python cannot encode), which gets the same
        answers, or errors, from it."""
        if not all(type(tokens) in (list, tuple) for tokens in sentences):
            return None
        tokens = list(chain.from_iterable(sentences))
        try:
            joined = "\0".join(tokens)
            if joined.count("\0") != max(len(tokens) - 1, 0):
                return None
            encoded = (joined + "\0").encode() if tokens else b""
        except (TypeError, UnicodeEncodeError):
            return None
        # Every token is a str (join takes nothing else); the results hold plain ones, as the
        # JSON call's do, where a NumPy string stayed one. Their text, as join read it:
        # `str()` calls a subclass's own __str__ (an enum's gives "Name.MEMBER").
        # The types as a set, at C speed: 6 ms for ATIS test x40 (366,560 tokens, a 969 ms
        # call), where a test per token in a generator took 10.
        if set(map(type, tokens)) - {str}:
            tokens = [str.__str__(token) for token in tokens]
        lengths = array("i", map(len, sentences))
        flags = ((_library.CONFIDENCE if confidence else 0)
                 | (0 if constrained else _library.UNCONSTRAINED)
                 | (threads or 0) << _library.THREADS_SHIFT)
        with self._live_handle() as handle:
            answers = _library.tag_tokens(handle, encoded, lengths, batch_size, flags)
        table = self._output_labels
        labels = [table[i] for i in answers.labels]
        spans = answers.spans.tolist()
        confidences = answers.confidences.tolist() if confidence else []
        # A NaN probability: the head defines no confidences.
        probabilities = [None if p != p else p for p in answers.probabilities or ()]
        results = []
        start = span_start = 0
        for index, (length, span_count) in enumerate(zip(lengths, answers.span_counts)):
            end, span_end = start + length, span_start + 2 * span_count
            probability = probabilities[index] if confidence else None
            results.append(TaggingResult.from_token_call(
                tokens[start:end], labels[start:end],
                None if probability is None else confidences[start:end], probability,
                spans[span_start:span_end], self._span_labels))
            start, span_start = end, span_end
        return results

    def _tag(
        self, requests: List[str], confidence: bool, nbest: int, batch_size: int,
        constrained: bool, threads: Optional[int], noun: str,
    ) -> List[TaggingResult]:
        """Tags JSON-lines `requests`; an answer's error raises `TrellisError`, naming the
        request as the caller's `noun` ("sentence" or "text") and its index."""
        options: Dict[str, Any] = {"batch_size": batch_size}
        if threads is not None:
            options["threads"] = threads
        if confidence:
            options["confidence"] = True
        if nbest > 0:
            options["nbest"] = nbest
        if not constrained:
            options["constrained"] = False
        try:
            text = self.tag_json_lines("\n".join(requests), options)
        except UnicodeEncodeError as error:
            raise _unencodable(requests, error) from None
        # One answer per request, each ending with a newline, which JSON strings never hold
        # unescaped: so the answers are also the items of one JSON array, parsed in one call.
        lines = text.split("\n")[:-1]
        answers = json.loads("[" + text[:-1].replace("\n", ",") + "]")
        results = []
        for index, (answer, line) in enumerate(zip(answers, lines)):
            try:
                results.append(TaggingResult.from_answer(answer, line))
            except ValueError as error:
                raise TrellisError(f"{noun} {index}: {error}") from None
        return results


def _reloaded(path: str, sha256: str) -> Tagger:
    """A pickled `Tagger`: its model file loaded again, if it still holds the bytes of the
    pickled tagger's (`sha256`)."""
    tagger = Tagger(path)
    if tagger._file_sha256() != sha256:
        tagger.close()
        raise TrellisError(
            f"{path}: the model file changed after the pickled tagger loaded it; load it again")
    return tagger


def _absolute(path: str) -> str:
    """`path` from the working directory, which a later `os.chdir` does not move. Not
    `os.path.abspath`: it drops "dir/.." by the letters, which names another directory when
    dir is a symbolic link."""
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


# How many times `Tagger` loads a model file that changes while it is read before it gives up.
_LOAD_ATTEMPTS = 3


# How a model file begins (`ModelFile.magic` in Sources/Trellis/Model/ModelFile.swift).
_MODEL_MAGIC = b"TRELLIS\0"


def _identity(status: os.stat_result) -> Tuple[int, int, int, int]:
    """A file's device, inode, size and modification time: equal while it is unchanged."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _identity_of_path(path: str) -> Optional[Tuple[int, int, int, int]]:
    """`_identity` of the file at `path`, None where there is none to read."""
    try:
        return _identity(os.stat(path))
    except OSError:
        return None
