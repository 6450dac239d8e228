"""The spaCy 3 pipeline component "trellis_tagger" (registered through the `spacy_factories`
entry point, so `nlp.add_pipe("trellis_tagger", config={"model": path})` needs no import).

It tags each Doc with spaCy's own tokens (whitespace tokens left out, as the model never saw
them), sentence by sentence when the Doc has sentence boundaries (a parser, senter or
sentencizer ran before it; `per_sentence`), as a model learns from sentences, and sets
`doc.ents`, or with `span_key` the span group `doc.spans[span_key]`. A span that cannot be
set (it overlaps an entity already there and `overwrite_ents` is off) is never dropped
silently: it goes to `doc._.trellis_unaligned` with the reason, and a
`TrellisAlignmentWarning` says so. `doc._.trellis` gives the full `TaggingResult`
(labels, confidences, spans) in the Doc's coordinates: all its tokens (a whitespace token's
label and confidence None), its text, and spans that index its tokens and text as `doc.ents`
do; once a later component has merged or split the Doc's tokens (`merge_entities`), reading
it raises `TrellisError` rather than give spans at the old indices. It is rebuilt on each
read from its answer line, which is what the Doc keeps (`doc._.trellis_json_line`): Docs
hold only what msgpack can write, so `Doc.to_bytes`, `DocBin(store_user_data=True)` and
`nlp.pipe(n_process=2)` work.

`nlp.to_disk(directory)` copies the model file into the pipeline (`trellis_tagger/model`), as
spaCy components keep their weights, and `nlp.to_bytes()` holds its bytes. `spacy.load` and
`nlp.from_bytes` keep the model as a file of the model cache
(`$XDG_CACHE_HOME/trellis/models/`, else `~/.cache/trellis/models/`, named by its SHA-256), as
a `Tagger` reads its model, and pickles, by path: a loaded pipeline tags on any machine, from
any working directory, whatever becomes of its directory (where the cache can be written).
The factory gets the configured path first, which need not hold a model: the component loads
that file only when it first needs a model and has none from the pipeline, so a missing or
damaged file is reported when it first tags (or is saved), not when it is added.

With `config={"url": "http://127.0.0.1:8080"}` instead of a model, the component tags on a
running `trellis-serve` through `Client`, so that the processes of a pipeline share one
server and one model; the results are the same. Its `timeout` and `busy_retries` settings are
the `Client`'s. Such a component holds no model: `to_disk` and `to_bytes` save none, and a
saved pipeline tags on the configured server wherever it is loaded.

As spaCy's own pipes do, the component passes a Doc it cannot tag (one holding a sentence of
more tokens than the model takes, as the README's "Limits" say) to its error handler (set by
`nlp.set_error_handler`; it raises the error by default); the batch's other Docs are tagged.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

import spacy
from spacy.language import Language
from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import minibatch, raise_error

from . import _library
from ._library import TrellisError
from .results import Span as TaggedSpan, TaggingResult
from ._arguments import _check_batch_size, _check_threads
from .client import Client, ServerError
from ._files import _write_whole
from .tagger import Tagger, _absolute, _reloaded

# The model file inside a saved pipeline's component directory.
_SAVED_MODEL = "model"

ErrorHandler = Callable[[str, Any, List[Doc], Exception], Any]
"""spaCy's error handler: called with the component's name, the component, the Docs that
failed and the error."""


def _result(doc: Doc) -> Optional[TaggingResult]:
    """`doc._.trellis`: the result of the Doc's answer line; `TrellisError` when the Doc's
    tokens are no longer those it was tagged with (a later component merged or split them,
    as spaCy's `merge_entities` does), whose indices its spans would give wrongly."""
    line = doc._.trellis_json_line
    if line is None:
        return None
    result = TaggingResult.from_json_line(line)
    if len(result.tokens) != len(doc) or any(
            tagged != token.text for tagged, token in zip(result.tokens, doc)):
        raise TrellisError(
            f"doc._.trellis: the Doc's tokens changed after trellis_tagger tagged it ({len(doc)} "
            f"tokens, {len(result.tokens)} tagged; a later component such as merge_entities "
            "merged or split them); read it before that component, or use doc.ents")
    return result


for _name in ("trellis_json_line", "trellis_unaligned"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)
if not Doc.has_extension("trellis"):
    Doc.set_extension("trellis", getter=_result)


class TrellisAlignmentWarning(UserWarning):
    """Spans were tagged but could not be set on the Doc (see `doc._.trellis_unaligned`)."""


@Language.factory(
    "trellis_tagger",
    default_config={
        "model": None,
        "url": None,
        "timeout": Client.DEFAULT_TIMEOUT,
        "busy_retries": Client.DEFAULT_BUSY_RETRIES,
        "span_key": None,
        "overwrite_ents": False,
        "confidence": False,
        "batch_size": _library.BATCH_SIZE,
        "per_sentence": True,
        "threads": None,
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0},
)
def make_trellis_tagger(
    nlp: Language,
    name: str,
    model: Optional[str],
    url: Optional[str],
    timeout: Optional[float],
    busy_retries: int,
    span_key: Optional[str],
    overwrite_ents: bool,
    confidence: bool,
    batch_size: int,
    per_sentence: bool,
    threads: Optional[int],
) -> "TrellisComponent":
    """model: the Trellis model file. url: instead of a model, the `trellis-serve` to tag on
    (`Client`; batch_size and threads are then the server's). timeout, busy_retries: with a
    url, the seconds a request may take (None: no limit) and how many times a busy server's
    503 is asked again, as `Client` takes them; unused with a model. span_key: write the spans to
    `doc.spans[span_key]` instead of `doc.ents` (overlaps allowed there). overwrite_ents: in
    `doc.ents`, replace entities that a tagged span overlaps (otherwise the span is reported
    as unaligned). confidence: ask for confidences (`doc._.trellis.confidences`).
    batch_size: sentences per forward pass, 1 to 4096. per_sentence: tag each of `doc.sents`
    on its own when the Doc has sentence boundaries (false: the whole Doc as one sequence).
    threads: the most threads a call tags on, 1 to 1024 (None: one per core the process may
    use; 1 in each of `nlp.pipe`'s `n_process` workers keeps them from each taking all)."""
    if bool(model) == bool(url):
        raise ValueError('trellis_tagger needs a model or a server, not both: '
                         'config={"model": "path/to/model"} or {"url": "http://HOST:PORT"}')
    # Here, not at the first Doc: a refused batch size sent every Doc to the error handler.
    batch_size, threads = _check_batch_size(batch_size), _check_threads(threads)
    if span_key == "":  # doc.spans[""]: a group no one looks for, and doc.ents stayed empty
        raise ValueError('trellis_tagger: span_key "" names no span group; leave it out for ents')
    component = TrellisComponent(
        model or "", name, span_key, overwrite_ents, confidence, batch_size, per_sentence,
        threads)
    if url:
        component.client = Client(url, timeout=timeout, busy_retries=busy_retries)
    return component


class TrellisComponent:
    """Tags Docs; `nlp.pipe` sends each batch of Docs to the library in one call."""

    def __init__(
        self,
        model: str,
        name: str,
        span_key: Optional[str],
        overwrite_ents: bool,
        confidence: bool,
        batch_size: int,
        per_sentence: bool,
        threads: Optional[int],
    ) -> None:
        # The configured model file, loaded when first needed (`tagger`): a saved pipeline's
        # `from_disk` or `from_bytes` brings its own model, and the configured file then need
        # not be there, or be a model, nor cost a load. By its absolute path, so that a
        # relative one still names it after an `os.chdir`. A TrellisError stands for a file
        # that could not be loaded.
        self._model = _absolute(model) if model else ""
        self._tagger: Union[Tagger, TrellisError, None] = None
        #: With a `url`, the server's client, which tags instead of a model.
        self.client: Optional[Client] = None
        self.name = name
        self.span_key = span_key
        self.overwrite_ents = overwrite_ents
        self.confidence = confidence
        self.batch_size = batch_size
        self.per_sentence = per_sentence
        self.threads = threads
        self.error_handler: ErrorHandler = raise_error

    @property
    def tagger(self) -> Tagger:
        """The model's tagger: the saved pipeline's, else the configured file's, loaded on
        first use; raises, then and at every later use, the `TrellisError` of a configured
        file that cannot be loaded (missing, damaged)."""
        if self.client is not None:
            raise TrellisError(f"this component tags on {self.client.url}; it holds no model")
        if self._tagger is None:
            # Two threads' first Docs may both load it; each tags with its own, and one stays.
            try:
                self._tagger = Tagger(self._model)
            except TrellisError as error:
                self._tagger = error
        tagger = self._tagger
        if isinstance(tagger, TrellisError):
            # A new error each time: raising one object again lengthens its traceback, which
            # an error handler that lets every Doc pass would grow without end.
            raise TrellisError(tagger.message)
        return tagger

    def set_error_handler(self, error_handler: ErrorHandler) -> None:
        """Sets what a Doc that cannot be tagged goes to, with its error (as
        `error_handler(name, component, [doc], error)`); `nlp.set_error_handler` calls this."""
        self.error_handler = error_handler

    def get_error_handler(self) -> ErrorHandler:
        """The error handler; spaCy's `raise_error`, which raises the error, unless set."""
        return self.error_handler

    def to_disk(self, path: Union[str, os.PathLike], *, exclude: Iterable[str] = ()) -> None:
        """Writes the model file into `path` (a directory `nlp.to_disk` names); nothing for a
        component on a server."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        if self.client is None:
            self.tagger.copy_model_file(directory / _SAVED_MODEL)

    def from_disk(
        self, path: Union[str, os.PathLike], *, exclude: Iterable[str] = ()
    ) -> "TrellisComponent":
        """Loads the model file `to_disk` wrote, kept as a file of the model cache (as
        `from_bytes` keeps its bytes), so the component still saves, copies and pickles it once
        the directory is gone or written again; where the cache cannot be written, the
        directory's file, with a warning that it must stay. A pipeline saved before components
        held their model (no file) keeps the configured one."""
        saved = Path(path) / _SAVED_MODEL
        if saved.exists() and self.client is None:
            try:
                self._tagger = _cached_tagger(saved.read_bytes())
            except OSError as error:
                warnings.warn(
                    f"{self.name}: the model cache cannot be written ({error}); the pipeline "
                    f"tags with {saved}, which must stay as it is for the pipeline to be saved "
                    "or pickled", stacklevel=_caller_stacklevel())
                self._tagger = Tagger(saved)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """The model file's bytes (`nlp.to_bytes` holds them); none on a server."""
        return b"" if self.client is not None else self.tagger.model_bytes()

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "TrellisComponent":
        """Tags with the model `to_bytes` gave, kept as a file of the model cache (a component
        on a server keeps tagging there)."""
        if self.client is None and data:
            # No bytes: a component on a server saved none (as `from_disk` without a file).
            self._tagger = _cached_tagger(data)
        return self

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        """What `nlp.evaluate` reports for the component, against the examples' gold Docs: the
        entities' precision, recall and F (`ents_p`, `ents_r`, `ents_f`, `ents_per_type`, as
        spaCy's entity recognizer gives them), or with `span_key` those of the span group
        (`spans_KEY_p`, ...). Without it `nlp.evaluate` gave no figure for the component."""
        if self.span_key is None:
            return get_ner_prf(examples)
        key = self.span_key
        return Scorer.score_spans(
            examples, f"spans_{key}", getter=lambda doc, _: doc.spans.get(key, []),
            has_annotation=lambda doc: key in doc.spans, allow_overlap=True)

    def __call__(self, doc: Doc) -> Doc:
        """Tags `doc`; if it cannot be, and the error handler returns, `doc` is returned
        untagged (spaCy's own pipes return None then, which `nlp(text)` refuses)."""
        self._tag_docs([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """The Docs of `stream`, tagged a batch per library call; one that cannot be tagged
        goes to the error handler, and is left out if that returns (as in spaCy's pipes)."""
        for docs in minibatch(stream, size=batch_size):
            yield from self._tag_docs(docs)

    def _tag_docs(self, docs: List[Doc]) -> List[Doc]:
        """Tags `docs` in one library call and returns those it tagged; one that cannot be
        tagged goes to the error handler with its error."""
        error_handler = self.get_error_handler()
        try:
            tagged = self._results(docs)
        except Exception as error:
            if len(docs) == 1 or not _refuses_a_doc(error):
                # A server that cannot be reached, or fails, fails every Doc alike: asking
                # again Doc by Doc cost a timeout each.
                error_handler(self.name, self, docs, error)
                return []
            # One Doc's error (a sentence too long, refused before any tagging) is the whole
            # call's: each Doc is then tagged alone, so that only those that fail reach the
            # handler, each with its own error.
            return [doc for alone in docs for doc in self._tag_docs([alone])]
        done = []
        for doc, result in zip(docs, tagged):
            try:
                self._set_spans(doc, result)
            except Exception as error:  # a TrellisAlignmentWarning, when warnings are errors
                error_handler(self.name, self, [doc], error)
            else:
                done.append(doc)
        return done

    def _results(self, docs: List[Doc]) -> List[TaggingResult]:
        """Each Doc's result, in the Doc's coordinates (`_doc_result`). Each Doc is one
        sequence or several (its sentences) of its tokens without whitespace tokens; all the
        Docs' sequences go to the library in one call."""
        parts = [self._sequences(doc) for doc in docs]
        sequences = [[doc[i].text for i in part] for doc, doc_parts in zip(docs, parts)
                     for part in doc_parts]
        try:
            if self.client is not None:
                results = iter(self.client.tag(sequences, self.confidence))
            else:
                results = iter(self.tagger.tag(sequences, self.confidence,
                                               batch_size=self.batch_size, threads=self.threads))
        except TrellisError as error:
            raise self._located(error, docs, parts) from None
        return [_doc_result(doc, doc_parts, [next(results) for _ in doc_parts])
                for doc, doc_parts in zip(docs, parts)]

    def _located(self, error: TrellisError, docs: List[Doc],
                 parts: List[List[List[int]]]) -> TrellisError:
        """`error` with its "sentence N", which counts the sequences of all the `docs`, said
        as the Doc (its text, or its opening) and, when the Doc was tagged sentence by
        sentence, the sentence's index in `doc.sents`."""
        # The library's "sentence N: …", or the server's "sentences[i] (id …): …" or "… by
        # sentences[i] (id …)" of the request whose sentences start at the call's `first`; or
        # any refusal (4xx) of a request of one sentence (a body over the server's limit).
        if isinstance(error, ServerError):
            said, first = error.reason, error.first
            before = re.match(r"sentences\[(\d+)\][^:]*: ", said)
            after = re.fullmatch(r"(.*) by sentences\[(\d+)\](?: \(id .*\))?", said, re.DOTALL)
            if before is not None:
                index, said = first + int(before.group(1)), said[before.end():]
            elif after is not None:
                index, said = first + int(after.group(2)), after.group(1)
            elif error.count == 1 and error.status < 500:
                index = first
            else:
                return error
        else:
            match = re.match(r"sentence (\d+): ", error.message)
            if match is None:
                return error
            index, said = int(match.group(1)), error.message[match.end():]
        owners = [(doc, part, len(doc_parts)) for doc, doc_parts in zip(docs, parts)
                  for part in doc_parts]
        doc, part, count = owners[index]
        where = (f"the Doc {doc.text!r}" if len(doc.text) <= 40
                 else f"the Doc starting {doc.text[:40]!r}")
        if count > 1:
            number = sum(1 for sentence in doc.sents if sentence.start <= part[0]) - 1
            where = f"sentence {number} of {where}"
        return TrellisError(f"{where}: {said}")

    def _sequences(self, doc: Doc) -> List[List[int]]:
        """The Doc indices of each sequence to tag: its non-space tokens, cut where its
        sentences start when `per_sentence` and the Doc has sentence boundaries (a sentence of
        whitespace alone is no sequence); at least one sequence, empty for an empty Doc."""
        if self.per_sentence and doc.has_annotation("SENT_START"):
            sequences = [[token.i for token in sentence if not token.is_space]
                         for sentence in doc.sents]
            if any(sequences):
                return [sequence for sequence in sequences if sequence]
        return [[token.i for token in doc if not token.is_space]]

    def _set_spans(self, doc: Doc, result: TaggingResult) -> None:
        doc._.trellis_json_line = result.json_line
        spans = [Span(doc, span.start, span.end, label=span.label) for span in result.spans]
        unaligned: List[Dict[str, Any]] = []
        if self.span_key is not None:
            doc.spans[self.span_key] = spans
        else:
            unaligned = self._set_entities(doc, spans)
        doc._.trellis_unaligned = unaligned
        if unaligned:
            # One text for every Doc: Python keeps each text it has shown, and one naming the
            # Doc's entity grew a service's memory without end.
            warnings.warn(
                f"{self.name}: tagged spans overlap entities already in doc.ents and were not "
                "set (doc._.trellis_unaligned lists them; config overwrite_ents: true replaces "
                "those entities)",
                TrellisAlignmentWarning,
                stacklevel=_caller_stacklevel(),
            )

    def _set_entities(self, doc: Doc, spans: List[Span]) -> List[Dict[str, Any]]:
        """Adds `spans` to `doc.ents`; returns the spans it could not add, with why."""
        existing = list(doc.ents)
        taken = {i: entity for entity in existing for i in range(entity.start, entity.end)}
        unaligned = []
        kept_existing = existing
        if self.overwrite_ents:
            covered = {i for span in spans for i in range(span.start, span.end)}
            kept_existing = [e for e in existing if not covered & set(range(e.start, e.end))]
        else:
            # A Doc tagged again (a pipeline run over stored Docs) holds these very spans.
            present = {(entity.start, entity.end, entity.label_) for entity in existing}
            for span in list(spans):
                if (span.start, span.end, span.label_) in present:
                    spans.remove(span)
                    continue
                clash = next((taken[i] for i in range(span.start, span.end) if i in taken), None)
                if clash is not None:
                    spans.remove(span)
                    unaligned.append(_report(span, f"overlaps the entity {clash.text!r} "
                                                   f"({clash.label_}) already in doc.ents"))
        doc.ents = sorted(kept_existing + spans, key=lambda span: span.start)
        return unaligned


def _refuses_a_doc(error: Exception) -> bool:
    """Whether `error`, a whole call's, may be one Doc's: a refusal of what was asked (the
    library's, or the server's 400 or 413), not a server out of reach or failing (an
    `OSError`, or a `ServerError` of 5xx: 503 after its retries)."""
    failing = isinstance(error, ServerError) and error.status >= 500
    return isinstance(error, TrellisError) and not failing


def _doc_result(doc: Doc, parts: List[List[int]], results: List[TaggingResult]) -> TaggingResult:
    """The Doc's result from those of its sequences (`parts`: their tokens' Doc indices), in
    the Doc's coordinates, as `doc._.trellis` gives it: `tokens` are all the Doc's tokens and
    `text` its text; `labels` and `confidences` hold None for a whitespace token, which the
    model did not see; spans' `start`/`end` index the Doc's tokens (a whitespace token inside
    a span is in it, as in `doc.ents`), `start_char`/`end_char` its text, and their `text` is
    that slice; the probability is the product of the sequences' (tagged independently). Its
    answer line is written from these when first read."""
    text = doc.text  # spaCy joins it anew at each read: once per span was quadratic
    labels: List[Optional[str]] = [None] * len(doc)
    confidences: Optional[List[Optional[float]]] = (
        None if any(result.confidences is None for result in results) else [None] * len(doc))
    spans = []
    for part, result in zip(parts, results):
        for i, label in zip(part, result.labels):
            labels[i] = label
        if confidences is not None:
            for i, confidence in zip(part, result.confidences):
                confidences[i] = confidence
        for span in result.spans:
            first, last = doc[part[span.start]], doc[part[span.end - 1]]
            start_char, end_char = first.idx, last.idx + len(last)
            spans.append(TaggedSpan(span.label, first.i, last.i + 1,
                                    text[start_char:end_char], start_char, end_char))
    probabilities = [result.probability for result in results]
    return TaggingResult(
        [token.text for token in doc], labels, spans, confidences,
        None if None in probabilities else math.prod(probabilities), text=text,
        json_line=None)


# A warning is the call's that reached spaCy or this package from outside them.
_INSIDE = tuple(os.path.dirname(path) + os.sep for path in (spacy.__file__, __file__))


def _caller_stacklevel() -> int:
    """The `stacklevel` that gives a warning of the function calling this to the first caller
    outside spaCy and this package: the line of `nlp(text)`, or of the loop reading
    `nlp.pipe(texts)`. No fixed level does: in `nlp.pipe` a generator of spaCy's stands
    between for each component after this one."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INSIDE):
        level, frame = level + 1, frame.f_back
    return level


def _cached_tagger(data: bytes) -> Tagger:
    """A `Tagger` of the model `data`, loaded from the model cache's file named by its SHA-256,
    which is written (whole or not at all: a temporary file renamed into place) unless it
    holds `data` already; `_reloaded` checks the bytes it loads, once. A file of that name
    holding other bytes (damaged, or put there) was loaded as it was, and the pipeline tagged
    with another model."""
    digest = hashlib.sha256(data).hexdigest()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trellis" / "models"
    path = cache / f"{digest}.model"
    if path.is_file():
        try:
            return _reloaded(str(path), digest)
        except TrellisError:
            pass  # other bytes, or no model at all: written again below
    cache.mkdir(parents=True, exist_ok=True)
    _write_whole(path, lambda partial: partial.write(data))
    return _reloaded(str(path), digest)


def _report(span: Span, reason: str) -> Dict[str, Any]:
    return {
        "label": span.label_,
        "start": span.start,
        "end": span.end,
        "start_char": span.start_char,
        "end_char": span.end_char,
        "text": span.text,
        "reason": reason,
    }
