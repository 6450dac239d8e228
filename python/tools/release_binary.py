"""The `trellis` binary the Python tests, tools and the Eval harness run by default."""

import os
import subprocess
from pathlib import Path


def path_from_make(repository: Path, target: str) -> str:
    """A path the Makefile of `repository` holds, relative to it, as `make -s TARGET` prints it
    (`bin-path`, `atis-path`, `shipped-corpus-path`), so that the Makefile is its one place."""
    return subprocess.run(
        ["make", "--no-print-directory", "-s", target], cwd=repository, check=True,
        capture_output=True, text=True).stdout.strip()


def release_binary(repository: Path) -> Path:
    """$TRELLIS_CLI when set; else `make build`'s binary of `repository`."""
    if os.environ.get("TRELLIS_CLI"):
        return Path(os.environ["TRELLIS_CLI"])
    return Path(repository) / path_from_make(repository, "bin-path")
