"""Deadlines for `Client`'s requests: a whole request, its re-sends and retries included,
within `timeout` seconds, where the socket's own timeout bounds each wait alone (and an
answer sent a byte at a time took as long as the server liked)."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from typing import Dict, Optional


class Watchdog:
    """Within its `with`, shuts `connection`'s socket at `deadline` (time.monotonic; None:
    never), which ends any wait on it; `expired` says whether it did. The socket is opened
    first, within the time left, so the watch covers it from the start. One thread of the
    process (`DeadlineWatch`) keeps every watch: a timer thread started for each request
    cost every call its start."""

    def __init__(self, connection: http.client.HTTPConnection,
                 deadline: Optional[float]) -> None:
        self._connection = connection
        self._deadline = deadline
        self._watched = False
        self.expired = False

    def __enter__(self) -> "Watchdog":
        if self._deadline is None:
            return self
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError("timed out")
        if self._connection.sock is None:
            # Connected within the time left, then each wait on the socket bounded as the
            # connection's timeout says, the watch bounding them all.
            full = self._connection.timeout
            self._connection.timeout = left
            try:
                self._connection.connect()
            finally:
                self._connection.timeout = full
            self._connection.sock.settimeout(full)
        _WATCH.add(self, self._deadline)
        self._watched = True
        return self

    def expire(self) -> None:
        """Called by the watch, under its lock, once the deadline has passed."""
        self.expired = True
        try:
            self._connection.sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass  # closed already

    def __exit__(self, *exception: object) -> None:
        if self._watched:
            # Taken off under the watch's lock, so `expired` is settled before it is read: an
            # expiry after the answer would shut the kept socket under the next request.
            _WATCH.remove(self)


class DeadlineWatch:
    """The process's thread that expires `Watchdog`s at their deadlines: it sleeps until the
    nearest one (or a new watch), and expires each past its own under the lock that `add`
    and `remove` take. Started anew in a forked child, which has no copy of the thread."""

    def __init__(self) -> None:
        self._reset()
        # A fork copies the lock as it was, perhaps held by another of the parent's threads.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._pid = 0
        self._changed = threading.Condition()
        self._deadlines: Dict[Watchdog, float] = {}

    def add(self, watchdog: Watchdog, deadline: float) -> None:
        with self._changed:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="trellis.Client deadlines",
                                 daemon=True).start()
            self._deadlines[watchdog] = deadline
            self._changed.notify()

    def remove(self, watchdog: Watchdog) -> None:
        with self._changed:
            self._deadlines.pop(watchdog, None)

    def _run(self) -> None:
        pid = os.getpid()
        with self._changed:
            while self._pid == pid:
                now = time.monotonic()
                for watchdog, deadline in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[watchdog]
                        watchdog.expire()
                nearest = min(self._deadlines.values(), default=None)
                self._changed.wait(None if nearest is None else nearest - now)


_WATCH = DeadlineWatch()
