"""The release `trellis` binary of a checkout: `make build`'s, whose path the Makefile holds."""

import subprocess
from pathlib import Path


def release_binary(repository: Path) -> Path:
    """The path `make -s bin-path` prints, in `repository`."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-s", "bin-path"], cwd=repository, check=True,
        capture_output=True, text=True).stdout.strip()
    return repository / printed
