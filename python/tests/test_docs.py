"""What the docstrings, the README and the Makefile say about the package holds."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import trellis
from conftest import REPOSITORY, run_cli

README = (REPOSITORY / "README.md").read_text()


def test_info_documents_its_keys_against_the_cli(tagger, model_path) -> None:
    """Every key of `Tagger.info` and of `trellis info --json` is named in the docstring, and
    those only one of them has in the README."""
    cli = set(json.loads(run_cli("info", "--json", model_path)))
    python = set(tagger.info)
    for key in cli | python:
        assert f'"{key}"' in trellis.Tagger.info.__doc__, key
    for key in cli ^ python:
        assert f"`{key}`" in README, key


def test_make_python_installs_without_a_stale_build_folder() -> None:
    """A `python/build/` left by an earlier install can hold an older library, which
    setuptools would install instead of trellis/libTrellisC.so."""
    makefile = (REPOSITORY / "Makefile").read_text()
    target = re.search(r"^python:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    commands = target.splitlines()
    install = next(
        i for i, line in enumerate(commands) if "pip install" in line and line.endswith(" ./python"))
    assert "\trm -rf python/build" in commands[:install]


def test_the_readme_counts_the_tests() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         str(REPOSITORY / "python" / "tests")],
        capture_output=True, text=True, check=True, cwd=REPOSITORY)
    collected = sum(1 for line in done.stdout.splitlines() if "::" in line)
    assert f"`make python-test` runs {collected} pytest tests" in README
