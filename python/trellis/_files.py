"""Model files written whole or not at all, as `trellis` writes its own."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from typing import BinaryIO, Callable, Optional, Union

from ._library import TrellisError

# One write at a time in this process: every write to one destination uses the same temporary
# name (`_temporary_prefix`), as `trellis`'s writes take turns.
_WRITES = threading.Lock()


def _unlock_in_child() -> None:
    """A child forked while another thread saved got the lock held, by a thread it does not
    have: its every save waited for ever. It starts with its own."""
    global _WRITES
    _WRITES = threading.Lock()


os.register_at_fork(after_in_child=_unlock_in_child)

# The largest process id a temporary file's name holds (Linux's pid_t), as `trellis` reserves
# room for it in the name.
_PID_MAX = 2**31 - 1
_NAME_MAX = 255


def _write_whole(
    destination: Union[str, bytes, os.PathLike], write: Callable[[BinaryIO], object],
    replaces: Optional[bytes] = None,
) -> None:
    """Writes `destination` whole or not at all: `write` fills a temporary file beside it,
    which is synced to disk and then renamed into place. As `trellis` writes its outputs:
    through a symbolic link the target is written and the link kept; anything there but a
    regular file (a device, a FIFO, a directory) is refused with `TrellisError`, and so, given
    the bytes `replaces`, is a file that is not empty and does not begin with them (a user's
    own file). `os.replace` alone had put a regular file in place of /dev/null, a FIFO, a link
    or a user's notes. The temporary file is `.NAME.PID.tmp`, the name `trellis` gives its
    own, and those a killed process left beside NAME (by `trellis` or by this package) are
    removed first: a SIGTERM during a save had left one for good."""
    with _WRITES:
        destination = _replaceable(destination, replaces)
        directory, name = os.path.split(destination)
        prefix = _temporary_prefix(name)
        _remove_stale_temporaries(directory, prefix)
        temporary = os.path.join(directory, f"{prefix}{os.getpid()}.tmp")
        # Created afresh, never through a link planted at the name; what is there is this
        # process's own earlier temporary or a stranger's.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        # A file written over another keeps that one's mode, as `trellis`'s own model writes
        # do; a new one gets the mode `open` gives (0666 less the umask, as spaCy writes the
        # pipeline's other files), so a pipeline saved by one user can be loaded by another.
        try:
            mode = os.stat(destination).st_mode & 0o7777  # a regular file (`_replaceable`)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        # The temporary file goes whenever the write or the rename fails (a directory where
        # the file should be left one of the model's size behind).
        target = os.fdopen(os.open(temporary, flags, 0o600), "wb")
        try:
            with target:
                write(target)
                target.flush()
                os.fchmod(target.fileno(), mode)
                # Before the rename: after a crash the name holds the old file or the new one
                # whole (its mode too), never a new one whose blocks never reached the disk.
                os.fsync(target.fileno())
            os.replace(temporary, destination)
        except BaseException:
            os.unlink(temporary)
            raise


def _temporary_prefix(name: str) -> str:
    """`.NAME.`, the start of a temporary file's name beside NAME, with NAME cut (at a code
    point) so that `.NAME.PID.tmp` fits a file name's 255 bytes, as `trellis` cuts it."""
    room = _NAME_MAX - len(".") - len(f".{_PID_MAX}.tmp")
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}."


def _remove_stale_temporaries(directory: str, prefix: str) -> None:
    """Removes the `PREFIX PID .tmp` files in `directory` whose process no longer runs."""
    for entry in os.listdir(directory):
        pid = entry[len(prefix):-len(".tmp")]
        # ASCII digits alone, as `trellis` reads a process id: "²" is a digit to `isdigit`
        # but not to `int`, which raised and failed every save beside it.
        if not (entry.startswith(prefix) and entry.endswith(".tmp") and pid.isascii()
                and pid.isdigit()):
            continue
        if int(pid) == os.getpid() or int(pid) > _PID_MAX:
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))
        except OSError:
            pass  # alive, another user's


def _replaceable(
    destination: Union[str, bytes, os.PathLike], replaces: Optional[bytes]
) -> str:
    """The absolute path `_write_whole` writes for `destination` (a link's target), after its
    checks."""
    # A str whatever `destination` is: a bytes path (which `Tagger` takes) met the temporary
    # file's str name, a TypeError.
    name = os.fsdecode(destination)
    # Such a path names a directory, and `realpath` drops the slash or the dot: a copy to
    # "other.model/" replaced other.model.
    if name.endswith("/") or os.path.basename(name) in (".", ".."):
        raise TrellisError(f"{name}: names a directory; a file path is needed")
    target = os.path.realpath(name)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(existing.st_mode):
        raise TrellisError(
            f"{name}: is a directory, device or FIFO, not a file; refusing to replace it")
    if replaces is not None and existing.st_size > 0:
        with open(target, "rb") as current:
            if current.read(len(replaces)) != replaces:
                raise TrellisError(
                    f"{name}: is not a Trellis model; refusing to replace it: "
                    "remove it, or choose another path")
    return target


def _umask() -> int:
    """The process's umask. Linux shows it in /proc/self/status; elsewhere `os.umask` reads it
    only by setting it, so a file another thread creates in between gets the mode of the
    value set meanwhile (077: narrower, never wider, than it should be)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return umask
