"""A stand-in for `trellis-serve` that answers as a test says, for the tests of `Client` and
of the spaCy component on a server."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Tuple


@contextmanager
def stand_in(answer: Callable[[bytes], Tuple[int, Dict[str, str], bytes]]) -> Iterator[str]:
    """A stand-in HTTP server on a free loopback port that answers each POST with
    `answer(body)` (status, headers, body); yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            status, headers, body = answer(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:  # the client gave up (a test of its timeout)
                pass

        def log_message(self, *arguments: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
