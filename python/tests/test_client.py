"""`trellis.Client` against a `trellis-serve` of the test model: the same results as the
in-process `Tagger`, answer lines included; requests cut within limits; a 503 retried after
its Retry-After; refusals raised with the server's message."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

import trellis
from conftest import REPOSITORY, CORPUS, conll_sentences

SENTENCES: List[List[str]] = list(conll_sentences(str(CORPUS / "test.conll")))[:40]
TEXTS = [
    "Flights from Boston to Salt Lake City on Tuesday, please.",
    "what's the fare to denver at 10:30",
    "Vols de Zürich à Montréal 🛫 demain",
    "",
]


def serve_binary() -> Path:
    return Path(os.environ.get("TRELLIS_SERVE", REPOSITORY / ".build" / "release" / "trellis-serve"))


@pytest.fixture(scope="module")
def server(model_path: str) -> Iterator[str]:
    """A trellis-serve of the test model on a free loopback port, refusing requests of more
    than 30 sentences."""
    process = subprocess.Popen(
        [str(serve_binary()), "--model", model_path, "--port", "0", "--max-sentences", "30"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on " in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=60)


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
    the answers are the same; all in one request, the server's 400 is raised."""
    local = tagger.tag(SENTENCES)
    for limits in [{"max_request_sentences": 7}, {"max_request_tokens": 25},
                   {"max_request_bytes": 300}]:
        assert_same(trellis.Client(server, **limits).tag(SENTENCES), local)
    with pytest.raises(trellis.TrellisError, match=r"sentences 0-39: .* answered 400: "
                       r"40 sentences; a request may hold at most 30"):
        trellis.Client(server, max_request_sentences=40).tag(SENTENCES)


def test_a_busy_server_is_asked_again_after_retry_after() -> None:
    """A stand-in server that answers 503 with `Retry-After: 0` twice, then 200."""
    answers = [(503, b'{"error":"busy"}'), (503, b'{"error":"busy"}'),
               (200, b'{"results":[{"labels":["O"],"spans":[],"tokens":["a"]}]}\n')]
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status, body = answers[len(seen) - 1]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if status == 503:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments: object) -> None:
            pass

    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{stand_in.server_address[1]}"
        [result] = trellis.Client(url).tag([["a"]])
        assert result.labels == ["O"]
        assert len(seen) == 3 and seen[0] == {"sentences": [{"tokens": ["a"]}]}
        answers[:] = [(503, b'{"error":"the server is busy"}')] * 3
        seen.clear()
        with pytest.raises(trellis.TrellisError, match="answered 503: the server is busy"):
            trellis.Client(url, busy_retries=2).tag([["a"]])
        assert len(seen) == 3
    finally:
        stand_in.shutdown()


@pytest.mark.parametrize("arguments, error", [
    ({"url": "https://127.0.0.1:8080"}, ValueError),
    ({"url": "localhost:8080"}, ValueError),
    ({"busy_retries": -1}, ValueError),
    ({"max_request_sentences": 0}, ValueError),
    ({"timeout": 0}, ValueError),
])
def test_settings_are_checked(arguments: dict, error: type) -> None:
    with pytest.raises(error):
        trellis.Client(**arguments)


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
