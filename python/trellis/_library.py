"""The C functions of libTrellisC.so (Sources/TrellisC/include/trellis.h) through ctypes.

Every string the library returns is copied into Python and freed at once; every error string
becomes a `TrellisError`. ctypes releases the GIL during each call, so Python threads tag in
parallel (the library is thread-safe on one handle).
"""

from __future__ import annotations

import ctypes
import os
import threading
from array import array
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, NamedTuple, Optional

LIBRARY_NAME = "libTrellisC.so"
"""The file `swift build` makes for the TrellisC product, and its name inside this package."""

_ERROR = ctypes.POINTER(ctypes.c_void_p)


class _CallGate:
    """The library calls in flight, and forks waiting for them: a child forked while another
    thread is inside the library (loading it, a model's first load, any call) inherits locks
    held by threads it does not have, and hung on them at its first call. A fork waits until
    no other thread's call is in flight (holding other threads' new ones back), and the child
    starts with an open gate of its own, holding the forking thread's calls still open.

    Work a thread does while a call of its own is open is let through, and a fork does not
    wait for the forking thread's own open calls: only that thread could end them. Python
    code runs there (a signal handler, a garbage collection's `__del__` between the gate and
    the library call), never the library, which runs without a Python frame. A signal handler
    that forked hung waiting for its own thread's call; a tagger freed by a collection inside
    a call, while another thread forked, waited for the fork, which waited for that call. So
    did a tagger the forking thread frees as it forks (`__del__` run by another fork hook, or
    by a collection in CPython's after-fork work in the child)."""

    def __init__(self) -> None:
        # Taken as `with self._lock`, in C: a Condition's own `with` runs Python after it has
        # the lock, where a Ctrl-C's exception left the lock held and every other thread's
        # next call waiting for good.
        self._lock = threading.RLock()
        self._condition = threading.Condition(self._lock)
        self._calls = 0
        self._open: Dict[int, int] = {}  # open calls by thread ident
        self._forking = False
        self._forker: Optional[int] = None  # the forking thread's ident (the same in the child)

    @contextmanager
    def call(self) -> Iterator[None]:
        """One stretch of work a fork must not split: a library call, or a use of a
        tagger's lock."""
        # Entered and left written out here, each with no call between its counts and what
        # records them, since a signal handler runs, and its exception is raised, as a
        # function starts and after each call: a Ctrl-C as a separate `enter` returned, before
        # the `try`, or as a `leave` started, left the call open for good (a fork from another
        # thread then waited for it). `entered` is this call's own: two calls of one thread
        # can end out of order (a generator left suspended by an interrupt closes when
        # collected), so the thread's count cannot tell.
        me = threading.get_ident()
        entered = False
        try:
            with self._lock:
                while self._forking and me != self._forker and not self._open.get(me):
                    self._condition.wait()
                opened = self._open.get(me, 0) + 1
                self._calls += 1
                self._open[me] = opened
                entered = True
            yield
        finally:
            if entered:
                with self._lock:
                    # (Not in a child forked meanwhile by another thread, which starts without
                    # this thread's calls.)
                    if me in self._open:
                        self._calls -= 1
                        if self._open[me] == 1:
                            del self._open[me]
                        else:
                            self._open[me] -= 1
                        self._condition.notify_all()

    def before_fork(self) -> None:
        # The lock is held across the fork, so no other thread holds it in the child.
        self._condition.acquire()
        self._forking = True
        self._forker = threading.get_ident()
        while self._calls > self._open.get(self._forker, 0):
            self._condition.wait()

    def after_fork_in_parent(self) -> None:
        self._forking = False
        self._forker = None
        self._condition.notify_all()
        self._condition.release()

    def after_fork_in_child(self) -> None:
        forker_calls = self._open.get(threading.get_ident(), 0)
        self.__init__()  # type: ignore[misc]
        if forker_calls:
            self._calls = forker_calls
            self._open[threading.get_ident()] = forker_calls


_gate = _CallGate()
os.register_at_fork(before=_gate.before_fork, after_in_parent=_gate.after_fork_in_parent,
                    after_in_child=_gate.after_fork_in_child)


class TrellisError(Exception):
    """A failure the Trellis library reported; `message` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def library_path() -> Path:
    """Where the library is: `TRELLIS_LIBRARY` when set, else the copy next to this file."""
    configured = os.environ.get("TRELLIS_LIBRARY")
    if configured:
        # Absolute, so the file checked is the file loaded: a bare name went to the dynamic
        # loader's search path, which found another copy or none.
        return Path(configured).absolute()
    return Path(__file__).with_name(LIBRARY_NAME)


_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def library() -> ctypes.CDLL:
    """The loaded library with its prototypes declared (loaded on first use)."""
    global _library
    with _lock:
        if _library is None:
            _library = _load(library_path())
        return _library


def _load(path: Path) -> ctypes.CDLL:
    if not path.exists():
        raise TrellisError(
            f"{path}: no such file; build the library with `make python` at the Trellis "
            "repository root, or point TRELLIS_LIBRARY at libTrellisC.so"
        )
    try:
        with _swift_crash_reports_off():
            lib = ctypes.CDLL(str(path))
    except OSError as error:
        raise TrellisError(f"{path}: cannot be loaded: {error}") from error
    try:
        _declare(lib)
    except AttributeError as error:  # a library that is not libTrellisC, or an older one
        raise TrellisError(f"{path}: not Trellis's C library (libTrellisC) of this version: "
                           f"{error}") from error
    return lib


@contextmanager
def _swift_crash_reports_off() -> Iterator[None]:
    """Loads the Swift runtime without its crash reporter unless the user set
    `SWIFT_BACKTRACE`: the runtime, started by the library's loading, otherwise takes over the
    host's SIGQUIT, SIGSEGV, SIGABRT and other signals (a SIGQUIT sent to Python printed a
    crash report and the process went on). It reads the variable as it starts, so the
    environment is put back after the load."""
    if "SWIFT_BACKTRACE" in os.environ:
        yield
        return
    os.environ["SWIFT_BACKTRACE"] = "enable=no"
    try:
        yield
    finally:
        del os.environ["SWIFT_BACKTRACE"]


def _declare(lib: ctypes.CDLL) -> None:
    """Declares the C functions' types; AttributeError for one `lib` lacks."""
    # Results to free are `_Owned`, not c_char_p: ctypes would copy a c_char_p and lose the
    # pointer that must be freed.
    lib.trellis_version.restype = ctypes.c_char_p
    lib.trellis_version.argtypes = []
    lib.trellis_model_load.restype = _OwnedModel
    lib.trellis_model_load.argtypes = [ctypes.c_char_p, _ERROR]
    lib.trellis_tag_jsonl.restype = _OwnedString
    lib.trellis_tag_jsonl.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, _ERROR]
    # Arrays go as addresses (array.array buffers), so no ctypes array is built per call.
    lib.trellis_tag_tokens.restype = ctypes.c_int
    lib.trellis_tag_tokens.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_void_p, _ERROR,
    ]
    lib.trellis_model_info.restype = _OwnedString
    lib.trellis_model_info.argtypes = [ctypes.c_void_p, _ERROR]
    lib.trellis_free_string.restype = None
    lib.trellis_free_string.argtypes = [ctypes.c_void_p]
    lib.trellis_model_free.restype = None
    lib.trellis_model_free.argtypes = [ctypes.c_void_p]


def version() -> str:
    """The library's version, e.g. "0.7.1"."""
    with _gate.call():  # its first call loads the library
        return library().trellis_version().decode()


class _Owned(ctypes.c_void_p):
    """A pointer the library returned for this process to free (with `_free`), freed when the
    object goes unless `release`d: a signal's exception (Ctrl-C's KeyboardInterrupt) is raised
    as a foreign call returns, before its result is stored, and the plain int that ctypes
    makes of a c_void_p result was lost with it, an answer string of megabytes or a model
    never freed. ctypes returns a subclass of c_void_p as itself, not as an int."""

    _free = ""

    def release(self) -> Optional[int]:
        """The pointer, now the caller's to free."""
        pointer, self.value = self.value, None
        return pointer

    def __del__(self) -> None:
        if self.value and _library is not None:
            getattr(_library, self._free)(self.value)


class _OwnedString(_Owned):
    _free = "trellis_free_string"


class _OwnedModel(_Owned):
    _free = "trellis_model_free"


def _take_string(lib: ctypes.CDLL, string: _OwnedString) -> bytes:
    """The bytes of a string the library returned, which is then freed."""
    pointer = string.release()
    try:
        return ctypes.string_at(pointer)
    finally:
        lib.trellis_free_string(pointer)


def _raise_error(lib: ctypes.CDLL, error: _OwnedString) -> None:
    message = _take_string(lib, error).decode() if error.value else "unknown error"
    raise TrellisError(message)


def load_model(path: str) -> int:
    """A model handle (an address) for the file at `path`."""
    lib = library()
    error = _OwnedString()
    handle = lib.trellis_model_load(os.fsencode(path), ctypes.byref(error))
    if not handle.value:
        _raise_error(lib, error)
    return handle.release()


def tag_jsonl(handle: int, requests: bytes, options: bytes) -> bytes:
    """The answers to `requests` (JSON lines), one line each."""
    lib = library()
    error = _OwnedString()
    answers = lib.trellis_tag_jsonl(handle, requests, options, ctypes.byref(error))
    if not answers.value:
        _raise_error(lib, error)
    return _take_string(lib, answers)


CONFIDENCE = 1
"""trellis_tag_tokens's flag TRELLIS_CONFIDENCE."""
UNCONSTRAINED = 2
"""trellis_tag_tokens's flag TRELLIS_UNCONSTRAINED."""
THREADS_SHIFT = 8
"""trellis_tag_tokens's TRELLIS_THREADS(n) is n shifted left by this many bits."""
THREADS_LIMIT = 1024
"""The most threads a call may ask for (Swift's `TaggingOptions.threadsLimit`, which the C
ABI does not report): `Tagger` checks it before any call."""
NBEST_LIMIT = 1000
"""The longest n-best list a call may ask for (Swift's `TaggingOptions.nbestLimit`, which the
C ABI does not report): `Client` checks it, as the library and the server do."""
BATCH_SIZE = 32
"""The batch size the library tags with unless told otherwise (Swift's
`TaggingOptions.batchSize`, `trellis tag --batch-size`'s default, which the C ABI does not
report)."""
BATCH_SIZE_LIMIT = 4096
"""The largest batch size the library takes (Swift's `TaggingOptions.batchSizeLimit`, which
the C ABI does not report): `Tagger` checks it before any call."""


class TokenAnswers(NamedTuple):
    """What trellis_tag_tokens wrote (int32 and float64 arrays): per token `labels` (ids
    into the model's "outputLabels") and `confidences`, per sentence `span_counts` and
    `probabilities`, and `spans`, the (start, end) pairs of all sentences' spans, flat.
    `confidences` and `probabilities` are None when not asked for."""

    labels: array
    span_counts: array
    spans: array
    confidences: Optional[array]
    probabilities: Optional[array]


def _address(values: Optional[array]) -> Optional[int]:
    return values.buffer_info()[0] if values is not None else None


def tag_tokens(
    handle: int, tokens: bytes, lengths: array, batch_size: int, flags: int
) -> TokenAnswers:
    """trellis_tag_tokens on `tokens` (each NUL-terminated UTF-8) in sentences of `lengths`
    (an int32 array), into arrays allocated here."""
    token_count, sentence_count = tokens.count(0), len(lengths)
    confidence = flags & CONFIDENCE
    answers = TokenAnswers(
        array("i", bytes(4 * token_count)),
        array("i", bytes(4 * sentence_count)),
        array("i", bytes(8 * token_count)),
        array("d", bytes(8 * token_count)) if confidence else None,
        array("d", bytes(8 * sentence_count)) if confidence else None,
    )
    lib = library()
    error = _OwnedString()
    status = lib.trellis_tag_tokens(
        handle, tokens, len(tokens), _address(lengths), sentence_count, batch_size, flags,
        *map(_address, answers), ctypes.byref(error))
    if status != 0:
        _raise_error(lib, error)
    return answers


def model_info(handle: int) -> bytes:
    """The model's info object (JSON)."""
    lib = library()
    error = _OwnedString()
    info = lib.trellis_model_info(handle, ctypes.byref(error))
    if not info.value:
        _raise_error(lib, error)
    return _take_string(lib, info)


def free_model(handle: int) -> None:
    library().trellis_model_free(handle)
