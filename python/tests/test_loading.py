"""Loading the library: errors that say what to do, the file a path names, and the host's
signals left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import trellis
from trellis import _library


def test_a_missing_library_is_an_error_saying_what_to_do(tmp_path) -> None:
    code = "import trellis\ntry:\n trellis.version()\nexcept trellis.TrellisError as e:\n print(e)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "TRELLIS_LIBRARY": str(tmp_path / "libTrellisC.so")},
    )
    assert "no such file" in done.stdout and "make python" in done.stdout


def test_a_library_that_is_not_trellis_is_an_error_naming_it() -> None:
    """A library that loads but lacks Trellis's functions (another, or an older
    libTrellisC) is a TrellisError naming it: it was an AttributeError."""
    import _ctypes  # a shared library of Python's own, which loads

    other = _ctypes.__file__
    code = "import trellis\ntry:\n trellis.version()\nexcept trellis.TrellisError as e:\n print(e)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "TRELLIS_LIBRARY": other},
    )
    assert "not Trellis's C library (libTrellisC) of this version" in done.stdout, done.stderr



def test_a_relative_library_path_names_the_file_in_the_working_directory(tmp_path) -> None:
    """`TRELLIS_LIBRARY=libTrellisC.so` loads the file of that name in the working directory,
    which is the file checked: the bare name went to the dynamic loader's search path."""
    (tmp_path / "libTrellisC.so").symlink_to(_library.library_path())
    code = "import trellis\nprint(trellis.version())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "TRELLIS_LIBRARY": "libTrellisC.so"},
    )
    assert done.returncode == 0 and done.stdout.strip() == trellis.version(), done.stderr


def test_loading_leaves_the_hosts_signals_alone() -> None:
    """The Swift runtime's crash reporter, which the library's loading starts, took over the
    host's signals: a SIGQUIT sent to Python printed a crash report, and the process went on.
    Off unless the user set SWIFT_BACKTRACE, whose value is left as it was."""
    code = (
        # A shell runs background jobs with SIGQUIT ignored, as CI's may: the default first.
        "import os, signal, time\n"
        "signal.signal(signal.SIGQUIT, signal.SIG_DFL)\n"
        "import trellis\n"
        "trellis.version()\n"
        "print('SWIFT_BACKTRACE' in os.environ)\n"
        "os.kill(os.getpid(), signal.SIGQUIT)\n"
        "time.sleep(5)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "SWIFT_BACKTRACE"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment,
        timeout=60,
    )
    assert done.returncode == -signal.SIGQUIT, (done.returncode, done.stderr)
    assert done.stdout.strip() == "False" and "crashed" not in done.stderr
