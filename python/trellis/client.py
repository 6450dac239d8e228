"""`Client`: `Tagger`'s calls and results over HTTP, from a running `trellis-serve`."""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
import urllib.parse
from typing import Any, Dict, Iterable, List, Optional, Sequence

from . import _library
from ._arguments import (_check_flags, _check_nbest, _integer, _token_array, _type_name,
                         _unencodable)
from ._deadlines import Watchdog
from ._library import TrellisError
from .results import TaggingResult, _dumps


class ServerError(TrellisError):
    """`trellis-serve` answered a request with `status`, not 200 (a refusal: 400, 413; or 503
    after the retries). `message` holds the sentences asked for and the server's words,
    `reason` the server's words alone (which name a refused sentence `sentences[i]` within
    the request), `first` the index of the request's first sentence in the call and `count`
    its number of sentences (0 where it is not known)."""

    def __init__(self, message: str, status: int, reason: str, first: int = 0,
                 count: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.first = first
        self.count = count

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Pickled with every argument: the exception's own pickling passed only `message`,
        # so it could not be unpickled, and a worker process's ServerError reached its
        # parent as a BrokenProcessPool without the server's words.
        return (ServerError, (self.message, self.status, self.reason, self.first, self.count))


class Client:
    """Tags with a `trellis-serve` at `url`, as a `Tagger` tags in-process: `tag`,
    `tag_texts`, `labels` and `info` take the same arguments (but the options that choose how
    the library runs: batch size, threads, constraints) and give the same results, answer
    lines included, byte for byte.

    Sentences go in requests of at most `max_request_sentences` sentences, about
    `max_request_tokens` tokens (a text counts its characters other than spaces, as many as
    its tokens could be), `max_request_nbest_labels` n-best labels (nbest x tokens) and
    `max_request_bytes` bytes of body, within the server's default limits (1,000 sentences,
    50,000 tokens, 1,000,000 labels, 1 MiB); a sentence larger than them goes alone. A request
    that a server started with lower limits refuses as too large (400 or 413) is sent again in
    halves, down to a sentence alone; a refusal of that sentence, as any other refusal, is
    raised as `ServerError` with the server's message and status (setting the limits to the
    server's saves the refused requests). An answer that is not Trellis's (not HTTP, not of
    the shape of an answer, not holding a sentence's tokens, larger than `MAX_ANSWER_BYTES`)
    is a `TrellisError`, and an `nbest` over `_library.NBEST_LIMIT` is refused as `Tagger` refuses
    it. A request answered 503 (the server's queue is full, or it is stopping) is sent again
    after its `Retry-After` (at most `MAX_RETRY_AFTER` seconds), up to `busy_retries` times. A
    request may take `timeout` seconds, its re-sends and retries included, at most
    `MAX_TIMEOUT` (None: no limit), then raises `TimeoutError`; a 503 whose `Retry-After` ends
    past that is raised at once. Network failures raise `OSError` as `http.client`
    does, an answer cut short `ConnectionError`. Each thread keeps its own connection open
    between calls; one that failed is opened again at the next call.

    >>> client = Client("http://127.0.0.1:8080")
    >>> client.tag_texts(["flights to boston"])[0].spans
    [Span(label='toloc.city_name', start=2, end=3, text='boston', start_char=11, end_char=17)]
    """

    #: The longest wait a 503's `Retry-After` may ask for, in seconds.
    MAX_RETRY_AFTER = 60.0
    #: The longest `timeout`, in seconds (a day); None waits without limit.
    MAX_TIMEOUT = 86_400.0
    #: The largest answer read, in bytes: 1 GiB, hundreds of times an answer to the largest
    #: request the default limits make (tokens, labels, spans, confidences, 1,000,000 n-best
    #: labels), so that a faulty server cannot exhaust the memory.
    MAX_ANSWER_BYTES = 1 << 30
    #: `timeout`'s and `busy_retries`' defaults, which the spaCy component's settings take.
    DEFAULT_TIMEOUT = 60.0
    DEFAULT_BUSY_RETRIES = 5

    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        *,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        busy_retries: int = DEFAULT_BUSY_RETRIES,
        max_request_sentences: int = 500,
        max_request_tokens: int = 25_000,
        max_request_nbest_labels: int = 1_000_000,
        max_request_bytes: int = 512 * 1024,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"url must be http://HOST[:PORT], not {url!r}")
        counts = {}
        for name, value, least in [("busy_retries", busy_retries, 0),
                                   ("max_request_sentences", max_request_sentences, 1),
                                   ("max_request_tokens", max_request_tokens, 1),
                                   ("max_request_nbest_labels", max_request_nbest_labels, 1),
                                   ("max_request_bytes", max_request_bytes, 1)]:
            try:
                count: Optional[int] = _integer(value, name)
            except TypeError:
                count = None
            if count is None or count < least:
                raise ValueError(f"{name} must be a whole number >= {least}, not {value!r}")
            counts[name] = count
        # Checked here: the socket refuses an infinite timeout only at each call. A bool is an
        # int, not seconds.
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, (int, float))
                                    or not 0 < timeout <= self.MAX_TIMEOUT):
            raise ValueError(f"timeout must be None or a number of seconds > 0 and <= "
                             f"{self.MAX_TIMEOUT:g}, not {timeout!r}")
        self.url = url
        self._host = parts.hostname
        port = parts.port  # ValueError beyond 65535
        if port == 0:
            raise ValueError(f"url must name a server's port (1 to 65535), not 0: {url!r}")
        self._port = 80 if port is None else port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._busy_retries = counts["busy_retries"]
        self._limits = (counts["max_request_sentences"], counts["max_request_tokens"],
                        counts["max_request_nbest_labels"], counts["max_request_bytes"])
        self._local = threading.local()

    @property
    def info(self) -> Dict[str, Any]:
        """The server's `GET /v1/model`, asked at each read: what `Tagger.info` and `trellis
        info --json` give. Not kept: a server restarted with another model answers for it."""
        text = self._send("GET", "/v1/model", None)
        try:
            info = json.loads(text)
            valid = isinstance(info, dict) and isinstance(info.get("outputLabels"), list)
        except ValueError:
            valid = False
        if not valid:
            raise TrellisError(f"{self.url}/v1/model: the answer is not Trellis's model "
                               f"description: {text[:80]!r}")
        return info

    @property
    def labels(self) -> List[str]:
        """The labels tagging can give, as `Tagger.labels` (`info`'s, asked of the server)."""
        return list(self.info["outputLabels"])

    def tag(self, sentences: Iterable[Sequence[str]], confidence: bool = False,
            nbest: int = 0) -> List[TaggingResult]:
        """Tags tokenized sentences, one result per sentence, in order (`Tagger.tag`)."""
        if isinstance(sentences, (str, bytes)):
            raise TypeError("sentences must be a list of token lists, not a string")
        nbest = _check_nbest(nbest, _library.NBEST_LIMIT)
        requests, token_lists = [], []
        for index, tokens in enumerate(sentences):
            array = _token_array(index, tokens)
            token_lists.append(list(tokens) if isinstance(tokens, (list, tuple))
                               else json.loads(array))
            requests.append(('{"tokens":' + array + "}", len(token_lists[-1])))
        return self._tag(requests, confidence, nbest, token_lists)

    def tag_texts(self, texts: Iterable[str], confidence: bool = False,
                  nbest: int = 0) -> List[TaggingResult]:
        """Tags raw strings, split by Trellis's tokenizer (`Tagger.tag_texts`)."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("texts must be a list of strings; for one text pass [text]")
        nbest = _check_nbest(nbest, _library.NBEST_LIMIT)
        requests = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {index} is {_type_name(text)}, not str")
            requests.append(('{"text":' + _dumps(text) + "}", sum(not c.isspace() for c in text)))
        return self._tag(requests, confidence, nbest)

    def close(self) -> None:
        """Closes this thread's connection (a later call opens another)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"trellis.Client({self.url!r})"

    def __getstate__(self) -> Dict[str, Any]:
        """Pickles without the threads' connections (a spaCy pipeline sent to `nlp.pipe`'s
        spawned workers): the copy opens its own."""
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _tag(self, requests: List[tuple], confidence: bool, nbest: int,
             token_lists: Optional[List[list]] = None) -> List[TaggingResult]:
        """`requests` are (JSON request, tokens it may hold) pairs; `token_lists` each one's
        tokens, which its answer must hold, where they are known (not for texts)."""
        _check_flags(confidence=confidence)
        lines = [line for line, _ in requests]
        try:
            "\n".join(lines).encode()
        except UnicodeEncodeError as error:
            raise _unencodable(lines, error) from None
        options = (',"confidence":true' if confidence else "") + (
            f',"nbest":{nbest}' if nbest else "")
        results: List[TaggingResult] = []
        for start, end in self._chunks(requests, nbest, len('{"sentences":[]}' + options)):
            self._tag_sentences(lines, start, end, options, results)
        for index, result in enumerate(results):
            tokens, labels = result.tokens, result.labels
            if not (isinstance(tokens, list) and all(isinstance(token, str) for token in tokens)
                    and isinstance(labels, list) and len(labels) == len(tokens)
                    and all(isinstance(label, str) for label in labels)) or (
                        token_lists is not None and tokens != token_lists[index]):
                raise TrellisError(f"sentence {index}: the answer is not Trellis's answer to "
                                   f"it: {result.json_line[:80]!r}")
        return results

    def _tag_sentences(self, lines: List[str], start: int, end: int, options: str,
                       results: List[TaggingResult]) -> None:
        """Appends the results of `lines[start:end]`, asked in one request, or in halves
        (and so on) when the server refuses it as larger than a request may be: a server
        started with lower limits than the `Client`'s took a request of sentences each
        within them for a fault of the sentence that crossed the limit."""
        body = '{"sentences":[' + ",".join(lines[start:end]) + "]" + options + "}"
        try:
            text = self._send("POST", "/v1/tag", body.encode())
        except ServerError as error:
            if end - start > 1 and _refuses_the_request(error):
                middle = (start + end) // 2
                self._tag_sentences(lines, start, middle, options, results)
                self._tag_sentences(lines, middle, end, options, results)
                return
            raise ServerError(f"sentences {start}-{end - 1}: {error.message}",
                              error.status, error.reason, start, end - start) from None
        try:
            results += _results(text, end - start)
        except TrellisError as error:
            raise TrellisError(f"sentences {start}-{end - 1}: {error.message}") from None

    def _chunks(self, requests: List[tuple], nbest: int, wrapper: int) -> Iterable[tuple]:
        """(start, end) of each request's sentences, within the limits, its body `wrapper`
        bytes besides the sentences and their commas."""
        most_sentences, most_tokens, most_labels, most_bytes = self._limits
        if nbest:
            most_tokens = min(most_tokens, most_labels // nbest)
        start = 0
        while start < len(requests):
            end, tokens, size = start, 0, wrapper
            while end < len(requests) and end - start < most_sentences:
                line, count = requests[end]
                length = len(line.encode()) + (end > start)  # and its comma
                if end > start and (tokens + count > most_tokens or size + length > most_bytes):
                    break
                tokens, size, end = tokens + count, size + length, end + 1
            yield start, end
            start = end

    def _send(self, method: str, path: str, body: Optional[bytes]) -> str:
        """The answer's body to a request; `ServerError` with the server's message for an
        answer other than 200, after `busy_retries` retries of a 503."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        # One deadline for the request, its retries included: each had its own, and a server
        # answering 503 kept a `timeout=1` call for `busy_retries` waits of `Retry-After`.
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        retries = 0
        while True:
            status, retry_after, data = self._exchange(
                method, self._prefix + path, body, headers, deadline)
            if status != 503 or retries == self._busy_retries or (
                    deadline is not None and time.monotonic() + retry_after >= deadline):
                break
            retries += 1
            time.sleep(retry_after)
        text = data.decode("utf-8", errors="replace")
        if status != 200:
            try:
                message = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                message = text.strip() or "no message"
            raise ServerError(f"{self.url}{path} answered {status}: {message}", status, message)
        return text

    def _timed_out(self, path: str) -> TimeoutError:
        return TimeoutError(f"{self.url}{path}: no whole answer within {self._timeout:g} s")

    def _exchange(self, method: str, path: str, body: Optional[bytes],
                  headers: Dict[str, str], deadline: Optional[float]) -> tuple:
        """(status, Retry-After seconds within 0...`MAX_RETRY_AFTER`, body) over this thread's
        connection, opened again once when a kept one turns out closed by the server; by
        `deadline` (time.monotonic; None: none), a re-send included: the socket's own timeout
        bounds each wait alone, and an answer sent a byte at a time took as long as the server
        liked."""
        fresh = False
        while True:
            connection = getattr(self._local, "connection", None)
            if getattr(self._local, "process", None) != os.getpid():
                # A forked child inherits the parent's socket (a `threading.local` survives a
                # fork): on one socket, parent and child read each other's answers. Left to
                # the parent, unclosed.
                connection = None
            # Only a connection an earlier exchange kept can have been closed by the server in
            # between; a new one closed is the server's answer (one that died answering), and
            # sending again on another waited the whole timeout for a server that never would.
            kept = connection is not None and not fresh
            if connection is None or fresh:
                if connection is not None:
                    connection.close()
                connection = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self._timeout)
                self._local.connection, self._local.process = connection, os.getpid()
            watchdog = Watchdog(connection, deadline)
            try:
                with watchdog:
                    connection.request(method, path, body=body, headers=headers)
                    answer = connection.getresponse()
                    data = _read_answer(answer, self.MAX_ANSWER_BYTES, f"{self.url}{path}")
            except BaseException as error:
                # Any failure (a timeout, a refused connection, Ctrl-C) leaves the connection
                # mid-request, and http.client refused every later request on it.
                connection.close()
                self._local.connection = None
                # A socket's own timeout (a connection not made in the time left) is the
                # exchange's too: no wait on it is longer than the time left. A Ctrl-C stays one.
                if isinstance(error, Exception) and deadline is not None and (
                        watchdog.expired or isinstance(error, TimeoutError)):
                    raise self._timed_out(path) from None
                kept_connection_closed = isinstance(
                    error, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if not (kept and kept_connection_closed):
                    raise _network_error(error, f"{self.url}{path}") from None
                fresh = True
                continue
            if watchdog.expired:
                # Cut off within the head, http.client took what it had for a whole answer.
                connection.close()
                self._local.connection = None
                raise self._timed_out(path)
            if answer.getheader("Connection", "").lower() == "close":
                connection.close()
                self._local.connection = None
            try:
                retry_after = float(answer.getheader("Retry-After", "1"))
            except ValueError:
                retry_after = 1.0
            if not 0 <= retry_after <= self.MAX_RETRY_AFTER:  # NaN and infinities too
                retry_after = self.MAX_RETRY_AFTER if retry_after > 0 else 0.0
            return answer.status, retry_after, data


def _read_answer(answer: http.client.HTTPResponse, limit: int, place: str) -> bytes:
    """The body of `answer`, read a block at a time; `TrellisError` for one over `limit` bytes,
    declared or sent (http.client reads a declared length at once: a `Content-Length` of 100
    GB raised MemoryError), `IncompleteRead` for one cut short, as `read()` raises it."""
    if answer.length is not None and answer.length > limit:
        raise TrellisError(f"{place}: the answer declares {answer.length} bytes, more than a "
                           f"Client reads ({limit})")
    blocks, size = [], 0
    while True:
        block = answer.read(1 << 20)
        if not block:
            break
        size += len(block)
        if size > limit:
            raise TrellisError(f"{place}: the answer runs past {limit} bytes, more than a Client "
                               f"reads")
        blocks.append(block)
    if answer.length:  # a block read ends quietly where the connection closed
        raise http.client.IncompleteRead(b"".join(blocks), answer.length)
    return b"".join(blocks)


def _network_error(error: BaseException, place: str) -> BaseException:
    """`error` as the `Client` promises it: an answer cut short (`IncompleteRead`) a
    `ConnectionError`, an answer that is not HTTP (`BadStatusLine`, a line too long) a
    `TrellisError`; others as they are. `http.client`'s own errors are neither `OSError` nor
    `TrellisError`, so a caller catching those two missed them."""
    if isinstance(error, OSError) or not isinstance(error, http.client.HTTPException):
        return error
    if isinstance(error, http.client.IncompleteRead):
        return ConnectionError(f"{place}: the connection closed within the answer "
                               f"({len(error.partial)} bytes read)")
    return TrellisError(f"{place}: the answer is not HTTP ({type(error).__name__}: {error})")


# The words of trellis-serve's 400 for a request over its sentence, token or n-best label
# limit (Sources/TrellisServer/TagRequestBody.swift).
_OVER_A_REQUEST_LIMIT = re.compile(
    r"a request may (hold|ask for) at most|\(the limit per request\) by sentences\[")


def _refuses_the_request(error: ServerError) -> bool:
    """Whether the server refused a request as larger than a request may be (413, or its 400
    of a sentence, token or n-best label limit), which smaller requests of the same sentences
    pass; any other refusal (a sentence's, a proxy's) is raised as it is."""
    return error.status == 413 or (
        error.status == 400 and _OVER_A_REQUEST_LIMIT.search(error.reason) is not None)


def _results(text: str, count: int) -> List[TaggingResult]:
    """The `count` results of a `{"results": [answer, ...]}` body, each with its answer's
    text as the server wrote it (its JSON-lines answer line); `TrellisError` for a body of
    another shape or count."""
    prefix = '{"results":['
    decoder = json.JSONDecoder()
    results = []
    index = len(prefix)
    try:
        if not text.startswith(prefix):
            raise ValueError("it does not start so")
        while text[index] != "]":
            answer, end = decoder.raw_decode(text, index)
            results.append(TaggingResult.from_answer(answer, text[index:end]))
            index = end + (text[end] == ",")
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as error:
        raise TrellisError(f"the answer is not Trellis's {prefix}...]}} ({error}): "
                           f"{text[:80]!r}") from None
    if len(results) != count:
        raise TrellisError(f"the answer holds {len(results)} results for {count} sentences")
    return results
