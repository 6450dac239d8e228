"""The C functions of libTrellisC.so (Sources/TrellisC/include/trellis.h) through ctypes.

Every string the library returns is copied into Python and freed at once; every error string
becomes a `TrellisError`. ctypes releases the GIL during each call, so Python threads tag in
parallel (the library is thread-safe on one handle).
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Optional

LIBRARY_NAME = "libTrellisC.so"
"""The file `swift build` makes for the TrellisC product, and its name inside this package."""

_ERROR = ctypes.POINTER(ctypes.c_void_p)


class TrellisError(Exception):
    """A failure the Trellis library reported; `message` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def library_path() -> Path:
    """Where the library is: `TRELLIS_LIBRARY` when set, else the copy next to this file."""
    configured = os.environ.get("TRELLIS_LIBRARY")
    if configured:
        return Path(configured)
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
        lib = ctypes.CDLL(str(path))
    except OSError as error:
        raise TrellisError(f"{path}: cannot be loaded: {error}") from error
    # Results are c_void_p, not c_char_p: ctypes would copy a c_char_p and lose the pointer
    # that must be freed.
    lib.trellis_version.restype = ctypes.c_char_p
    lib.trellis_version.argtypes = []
    lib.trellis_model_load.restype = ctypes.c_void_p
    lib.trellis_model_load.argtypes = [ctypes.c_char_p, _ERROR]
    lib.trellis_tag_jsonl.restype = ctypes.c_void_p
    lib.trellis_tag_jsonl.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, _ERROR]
    lib.trellis_model_info.restype = ctypes.c_void_p
    lib.trellis_model_info.argtypes = [ctypes.c_void_p, _ERROR]
    lib.trellis_free_string.restype = None
    lib.trellis_free_string.argtypes = [ctypes.c_void_p]
    lib.trellis_model_free.restype = None
    lib.trellis_model_free.argtypes = [ctypes.c_void_p]
    return lib


def version() -> str:
    """The library's version, e.g. "0.3.0"."""
    return library().trellis_version().decode()


def _take_string(lib: ctypes.CDLL, pointer: Optional[int]) -> bytes:
    """The bytes of a string the library returned, which is then freed."""
    try:
        return ctypes.string_at(pointer)
    finally:
        lib.trellis_free_string(pointer)


def _raise_error(lib: ctypes.CDLL, error: ctypes.c_void_p) -> None:
    message = _take_string(lib, error.value).decode() if error.value else "unknown error"
    raise TrellisError(message)


def load_model(path: str) -> int:
    """A model handle (an address) for the file at `path`."""
    lib = library()
    error = ctypes.c_void_p()
    handle = lib.trellis_model_load(os.fsencode(path), ctypes.byref(error))
    if not handle:
        _raise_error(lib, error)
    return handle


def tag_jsonl(handle: int, requests: bytes, options: bytes) -> bytes:
    """The answers to `requests` (JSON lines), one line each."""
    lib = library()
    error = ctypes.c_void_p()
    answers = lib.trellis_tag_jsonl(handle, requests, options, ctypes.byref(error))
    if not answers:
        _raise_error(lib, error)
    return _take_string(lib, answers)


def model_info(handle: int) -> bytes:
    """The model's info object (JSON)."""
    lib = library()
    error = ctypes.c_void_p()
    info = lib.trellis_model_info(handle, ctypes.byref(error))
    if not info:
        _raise_error(lib, error)
    return _take_string(lib, info)


def free_model(handle: int) -> None:
    library().trellis_model_free(handle)
