"""The `trellis` binary the Python tests, tools and the Eval harness run by default."""

import os
import subprocess
from pathlib import Path


def release_binary(repository: Path) -> Path:
    """$TRELLIS_CLI when set; else `make build`'s binary of `repository`, at the path the
    Makefile holds (`make -s bin-path`)."""
    if os.environ.get("TRELLIS_CLI"):
        return Path(os.environ["TRELLIS_CLI"])
    printed = subprocess.run(
        ["make", "--no-print-directory", "-s", "bin-path"], cwd=repository, check=True,
        capture_output=True, text=True).stdout.strip()
    return Path(repository) / printed
