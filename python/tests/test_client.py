"""`trellis.Client` against a `trellis-serve` of the test model: the same results as the
in-process `Tagger`, answer lines included; requests cut within limits; a 503 retried after
its Retry-After; refusals raised with the server's message."""

from __future__ import annotations

import http.server
import inspect
import json
import os
import pickle
import re
import socket
import struct
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

import trellis
from trellis import _library
from conftest import CORPUS, conll_sentences, serve_binary
from stand_in_server import stand_in

SENTENCES: List[List[str]] = list(conll_sentences(str(CORPUS / "test.conll")))[:40]
TEXTS = [
    "Flights from Boston to Salt Lake City on Tuesday, please.",
    "what's the fare to denver at 10:30",
    "Vols de Zürich à Montréal 🛫 demain",
    "",
]


def assert_same(remote: List[trellis.TaggingResult], local: List[trellis.TaggingResult]) -> None:
    assert remote == local
    assert [r.json_line for r in remote] == [r.json_line for r in local]


def test_tokens_are_tagged_as_in_process(server: str, tagger: trellis.Tagger) -> None:
    with trellis.Client(server) as client:
        assert_same(client.tag(SENTENCES[:20]), tagger.tag(SENTENCES[:20]))
        assert_same(client.tag(SENTENCES[:5], confidence=True, nbest=3),
                    tagger.tag(SENTENCES[:5], confidence=True, nbest=3))
        # A generator of tuples, as `Tagger.tag` takes.
        assert_same(client.tag(tuple(s) for s in SENTENCES[:3]), tagger.tag(SENTENCES[:3]))
        assert client.tag([]) == []


def test_texts_are_tagged_as_in_process(server: str, tagger: trellis.Tagger) -> None:
    client = trellis.Client(server)
    assert_same(client.tag_texts(TEXTS), tagger.tag_texts(TEXTS))
    assert_same(client.tag_texts(TEXTS, confidence=True), tagger.tag_texts(TEXTS, confidence=True))


def test_model_info_is_the_taggers(server: str, tagger: trellis.Tagger) -> None:
    client = trellis.Client(server)
    assert client.labels == tagger.labels
    assert client.info["configuration"] == tagger.info["configuration"]
    assert client.info["parameters"] == tagger.info["parameters"]


def test_sentences_go_in_requests_within_the_limits(server: str, tagger: trellis.Tagger) -> None:
    """40 sentences, more than the server's 30 a request: cut by sentences, tokens or bytes,
    the answers are the same; asked in one request, which the server refuses, they are asked
    again in halves (the server's 400 was raised for sentences each within its limits)."""
    local = tagger.tag(SENTENCES)
    for limits in [{"max_request_sentences": 7}, {"max_request_tokens": 25},
                   {"max_request_bytes": 300}, {"max_request_sentences": 40}]:
        assert_same(trellis.Client(server, **limits).tag(SENTENCES), local)
    # n-best lists: nbest x tokens within max_request_nbest_labels, the server's limit here,
    # by the Client's limit or by halving what the server refuses.
    for limits in [{"max_request_nbest_labels": 300}, {"max_request_sentences": 30}]:
        assert_same(trellis.Client(server, **limits).tag(SENTENCES, nbest=5),
                    tagger.tag(SENTENCES, nbest=5))
    # A sentence over the limit alone is the server's refusal of that sentence.
    long = ["boston"] * 61
    with pytest.raises(trellis.ServerError, match=r"sentences 3-3: .* answered 400: .*asks for "
                       "up to 305 labels") as refused:
        trellis.Client(server).tag(SENTENCES[:3] + [long] + SENTENCES[:3], nbest=5)
    assert (refused.value.first, refused.value.count) == (3, 1)


def test_only_a_refusal_of_the_requests_size_is_asked_again_in_parts() -> None:
    """A 400 that is not about a request's size (a proxy's) is raised for the whole request:
    it was asked again in halves down to one sentence, then blamed on sentence 0."""
    bodies: List[bytes] = []

    def answer(body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        bodies.append(body)
        return 400, {}, b'{"error":"the proxy refuses it"}'

    with stand_in(answer) as url:
        with pytest.raises(trellis.ServerError) as refused:
            trellis.Client(url).tag([["a"]] * 8)
    assert len(bodies) == 1 and (refused.value.first, refused.value.count) == (0, 8)


ONE_RESULT = b'{"results":[{"labels":["O"],"spans":[],"tokens":["a"]}]}\n'


def test_a_busy_server_is_asked_again_after_retry_after() -> None:
    """503 with `Retry-After: 0` twice, then 200; then 503 past `busy_retries`. A Retry-After
    that is not a wait (NaN, negative) is taken as 0."""
    answers = [(503, {"Retry-After": "0"}, b'{"error":"busy"}'),
               (503, {"Retry-After": "nan"}, b'{"error":"busy"}'), (200, {}, ONE_RESULT)]
    seen = []

    def answer(body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        seen.append(json.loads(body))
        return answers[len(seen) - 1]

    with stand_in(answer) as url:
        [result] = trellis.Client(url).tag([["a"]])
        assert result.labels == ["O"]
        assert len(seen) == 3 and seen[0] == {"sentences": [{"tokens": ["a"]}]}
        answers[:] = [(503, {"Retry-After": "-5"}, b'{"error":"the server is busy"}')] * 3
        seen.clear()
        with pytest.raises(trellis.TrellisError, match="answered 503: the server is busy"):
            trellis.Client(url, busy_retries=2).tag([["a"]])
        assert len(seen) == 3
        # The retries are within the request's `timeout`: each had its own, so a `timeout=1`
        # call waited out every `Retry-After` (6 s here). A wait past it is not begun.
        answers[:] = [(503, {"Retry-After": "2"}, b'{"error":"the server is busy"}')] * 4
        seen.clear()
        with pytest.raises(trellis.ServerError, match="answered 503: the server is busy"):
            trellis.Client(url, timeout=1, busy_retries=3).tag([["a"]])
        assert len(seen) == 1


def test_a_failed_call_leaves_the_client_usable() -> None:
    """A call that timed out left http.client's connection mid-request, and every later call
    on the thread raised `CannotSendRequest`."""
    calls = []

    def answer(body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        calls.append(body)
        if len(calls) == 1:
            time.sleep(1)
        return 200, {}, ONE_RESULT

    with stand_in(answer) as url:
        client = trellis.Client(url, timeout=0.3)
        with pytest.raises(TimeoutError):
            client.tag([["a"]])
        assert client.tag([["a"]])[0].labels == ["O"]


def test_request_bodies_stay_within_max_request_bytes() -> None:
    """The body's own bytes (`{"sentences":[`, the options, `}`) count too: without them a
    server at the same limit answered 413. A sentence too large for the limit goes alone."""
    sizes = []

    def answer(body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        sentences = json.loads(body)["sentences"]
        sizes.append((len(body), len(sentences)))
        answers = ",".join(json.dumps({"labels": ["O"] * len(s["tokens"]), "spans": [],
                                       "tokens": s["tokens"]}) for s in sentences)
        return 200, {}, ('{"results":[' + answers + "]}\n").encode()

    with stand_in(answer) as url:
        client = trellis.Client(url, max_request_bytes=200)
        assert len(client.tag(SENTENCES, confidence=True, nbest=2)) == len(SENTENCES)
    assert any(count > 1 for _, count in sizes)
    assert all(size <= 200 for size, count in sizes if count > 1)


@pytest.mark.parametrize("body", [
    b'{"results":[', b'{"results":[]}\n', b'{"x":1}', b'{"results":[{"error":"no"}]}\n',
    b"<html>", b'{"results":[[]]}\n', b'{"results":["x"]}\n',
    b'{"results":[{"tokens":5,"labels":"xyz","spans":[]}]}\n',
    b'{"results":[{"tokens":["a"],"labels":[],"spans":[]}]}\n',
    b'{"results":[{"tokens":["a"],"labels":[7],"spans":[]}]}\n',
])
def test_an_answer_that_is_not_trelliss_is_an_error(body: bytes) -> None:
    """A `TrellisError`, whatever the shape: results that are lists or strings raised an
    AttributeError, and ones of other shapes were returned."""
    with stand_in(lambda _: (200, {}, body)) as url:
        with pytest.raises(trellis.TrellisError, match="sentences? 0(-0)?: the answer"):
            trellis.Client(url).tag([["a"]])


def test_an_answer_must_hold_the_sentences_tokens() -> None:
    """An answer for other tokens (a proxy's mix-up) was returned as the sentence's."""
    answer = b'{"results":[{"tokens":["a"],"labels":["O"],"spans":[]}]}\n'
    with stand_in(lambda _: (200, {}, answer)) as url:
        client = trellis.Client(url)
        assert client.tag([("a",)])[0].labels == ["O"]
        with pytest.raises(trellis.TrellisError, match="sentence 0: the answer is not"):
            client.tag([["a", "b"]])
        assert client.tag_texts(["whatever"])[0].tokens == ["a"]  # a text's tokens are the server's


@pytest.mark.parametrize("head, message", [
    (b"Content-Length: 100000000000\r\n", "the answer declares 100000000000 bytes"),
    (b"Transfer-Encoding: chunked\r\n", "the answer runs past 1000 bytes"),
    (b"Connection: close\r\n", "the answer runs past 1000 bytes"),
])
def test_an_answer_larger_than_a_client_reads_is_an_error(head: bytes, message: str) -> None:
    """A declared length was read at once (MemoryError for 100 GB), and an answer of no
    declared length was read whole, however long."""
    body = b"x" * 2000
    if head.startswith(b"Transfer"):
        body = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"

    def answer(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + body)

    with raw_server(answer) as url:
        client = trellis.Client(url, timeout=10)
        client.MAX_ANSWER_BYTES = 1000
        with pytest.raises(trellis.TrellisError, match=message):
            client.tag([["a"]])


@pytest.mark.parametrize("arguments, error", [
    ({"url": "https://127.0.0.1:8080"}, ValueError),
    ({"url": "localhost:8080"}, ValueError),
    ({"url": "http://127.0.0.1:0"}, ValueError),  # it went to port 80
    ({"busy_retries": -1}, ValueError),
    ({"max_request_sentences": 0}, ValueError),
    ({"max_request_sentences": 2.0}, ValueError),
    ({"timeout": 0}, ValueError),
    ({"timeout": float("inf")}, ValueError),  # the socket refused it at each call
    ({"timeout": float("nan")}, ValueError),
    ({"timeout": 1e10}, ValueError),
    ({"timeout": True}, ValueError),
    ({"timeout": "5"}, ValueError),
])
def test_settings_are_checked(arguments: dict, error: type) -> None:
    with pytest.raises(error):
        trellis.Client(**arguments)


def test_no_timeout_and_the_longest_are_taken() -> None:
    assert trellis.Client(timeout=None) and trellis.Client(timeout=trellis.Client.MAX_TIMEOUT)
    # NumPy's integers are counts, as the `Tagger` takes them.
    import numpy

    assert trellis.Client(busy_retries=numpy.int64(2), max_request_sentences=numpy.int64(9))


def test_arguments_are_checked_as_the_taggers() -> None:
    client = trellis.Client()
    with pytest.raises(TypeError, match="not a string"):
        client.tag("flights to boston")
    with pytest.raises(TypeError, match="sentence 0, token 1 is int"):
        client.tag([["a", 1]])
    with pytest.raises(TypeError, match="confidence must be a bool"):
        client.tag([["a"]], confidence="no")
    with pytest.raises(ValueError, match="nbest must be 0"):
        client.tag([["a"]], nbest=-1)
    with pytest.raises(UnicodeEncodeError):
        client.tag_texts(["a\ud800b"])
    # Refused where no request goes (no sentences), as the library refuses it.
    with pytest.raises(trellis.TrellisError, match=r'"nbest" must be in 0\.\.\.1000'):
        client.tag([], nbest=_library.NBEST_LIMIT + 1)


def test_the_nbest_limit_is_the_librarys(tagger: trellis.Tagger) -> None:
    """`_library.NBEST_LIMIT`, which `Client` checks, mirrors Swift's
    `TaggingOptions.nbestLimit`: the library takes it and refuses one more."""
    request = '{"tokens": ["boston"]}'
    assert '"nbest"' in tagger.tag_json_lines(request, {"nbest": _library.NBEST_LIMIT})
    with pytest.raises(trellis.TrellisError, match=rf"0\.\.\.{_library.NBEST_LIMIT}\b"):
        tagger.tag_json_lines(request, {"nbest": _library.NBEST_LIMIT + 1})


def test_the_request_caps_are_within_the_servers_default_limits() -> None:
    """`Client`'s default caps on a request stay at or under what `trellis-serve` takes by
    default (its --help gives its defaults), so that a client left at its defaults never has
    a request refused as too large by a server left at its own."""
    usage = subprocess.run([str(serve_binary()), "--help"], check=True, capture_output=True,
                           text=True).stdout

    def server_default(option: str) -> int:
        # The option's entry: from its name to the next option's.
        entry = next(part for part in re.split(r"\n  (?=--)", usage)
                     if part.startswith(f"--{option} "))
        return int(re.search(r"\(default: (\d+)\)", entry).group(1))

    caps = inspect.signature(trellis.Client).parameters
    for cap, option in [("max_request_sentences", "max-sentences"),
                        ("max_request_tokens", "max-tokens"),
                        ("max_request_nbest_labels", "max-nbest-labels"),
                        ("max_request_bytes", "max-body-bytes")]:
        assert caps[cap].default <= server_default(option), cap


def read_request(connection: socket.socket) -> None:
    """Reads a request's head and its Content-Length's body: a socket closed with bytes still
    unread resets the connection, and the client saw a reset instead of the answer sent."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, body = received.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    while length and len(body) < int(length.group(1)):
        body += connection.recv(65536)


@contextmanager
def raw_server(send: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback server that reads a request, then hands the connection to `send` and
    closes it: for answers an HTTP server would not give."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            read_request(connection)
            try:
                send(connection)
            except OSError:
                pass  # the client gave up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_the_timeout_bounds_the_whole_request() -> None:
    """An answer sent a byte every 50 ms (about 4 s in all) ends the call at `timeout`: the
    socket's timeout bounded each wait alone, and the call took as long as the server."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(ONE_RESULT), ONE_RESULT)

    def trickle(connection: socket.socket) -> None:
        for byte in answer:
            connection.send(bytes([byte]))
            time.sleep(0.05)

    with raw_server(trickle) as url:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no whole answer within 1 s"):
            trellis.Client(url, timeout=1).tag([["a"]])
        assert time.monotonic() - started < 2
    # Every watch is taken off when its exchange ends, expired or not.
    with stand_in(lambda _: (200, {}, ONE_RESULT)) as url:
        client = trellis.Client(url, timeout=5)
        assert all(client.tag([["a"]])[0].labels == ["O"] for _ in range(20))
    assert not trellis._deadlines._WATCH._deadlines


@pytest.mark.parametrize("answer, error, message", [
    (b"SSH-2.0-OpenSSH_9.2\r\n", trellis.TrellisError, "the answer is not HTTP"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"results\"", ConnectionError,
     "the connection closed within the answer"),
])
def test_broken_answers_raise_the_promised_errors(answer: bytes, error: type,
                                                  message: str) -> None:
    """`http.client`'s own errors are neither `OSError` nor `TrellisError`: an answer that
    is not HTTP is a `TrellisError`, one cut short a `ConnectionError`."""
    with raw_server(lambda connection: connection.sendall(answer)) as url:
        with pytest.raises(error, match=message):
            trellis.Client(url).tag([["a"]])


def test_a_new_connection_the_server_resets_is_not_opened_again() -> None:
    """Only a connection kept from an earlier exchange is opened again when the server
    closed it: a new one reset (a server that died answering) sent the request again on
    another, which waited the whole timeout for an answer."""

    def reset(connection: socket.socket) -> None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with raw_server(reset) as url:
        started = time.monotonic()
        with pytest.raises(ConnectionError):
            trellis.Client(url, timeout=20).tag([["a"]])
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("body", [b"<html>", b'{"labels":[]}', b"[1]"])
def test_a_model_description_that_is_not_trelliss_is_an_error(body: bytes) -> None:
    """Refused, and not kept: it raised json's error or a KeyError, and was kept for good.
    A good one is not kept either: a server restarted with another model answers for it."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        answers = [body, b'{"outputLabels":["O"]}', b'{"outputLabels":["O","B-city"]}']

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            answer = Handler.answers.pop(0) if len(Handler.answers) > 1 else Handler.answers[0]
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *arguments: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = trellis.Client(f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(trellis.TrellisError, match="not Trellis's model description"):
            client.labels
        assert client.labels == ["O"]
        assert client.labels == ["O", "B-city"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_forked_process_opens_its_own_connection(server: str, tagger: trellis.Tagger) -> None:
    """A forked child inherited the parent's kept socket (`nlp.pipe(n_process=2)` forks), and
    parent and child tagging at once read each other's answers: wrong labels, no error."""
    client = trellis.Client(server)
    client.tag(SENTENCES[:1])  # the parent's connection, kept
    expected = [result.json_line for result in tagger.tag(SENTENCES[:10])]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            inherited = client._local.connection
            same = all([r.json_line for r in client.tag(SENTENCES[:10])] == expected
                       for _ in range(20))
            os.write(write, b"1" if same and client._local.connection is not inherited else b"0")
        finally:
            os._exit(0)
    same = all([r.json_line for r in client.tag(SENTENCES[:10])] == expected for _ in range(20))
    os.waitpid(child, 0)
    assert os.read(read, 1) == b"1" and same


def test_a_server_error_survives_pickling() -> None:
    """A `ServerError` raised in a worker process reaches its parent pickled: it could not be
    unpickled (its `__init__` takes more than the message), and the parent got
    `BrokenProcessPool` instead of the server's words."""
    error = trellis.ServerError("sentences[0:2]: too long", 413, "too long", first=7)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.message, copy.status, copy.reason, copy.first, str(copy)) == (
        trellis.ServerError, error.message, 413, "too long", 7, str(error))
