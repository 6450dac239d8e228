"""The tools beside the package run: `make python-bench` is not in CI, and once took a handle
the API had changed under it (a context manager, not an integer) and crashed in ctypes."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import CORPUS, REPOSITORY


def test_the_python_bench_runs_one_round(model_path: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "python" / "tools" / "bench.py"),
         str(CORPUS / "test.conll"), "--model", model_path, "--repetitions", "1"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["rounds"] == 1
    assert all(figures[f"{name}_tokens_per_second"] > 0
               for name in ("swift", "tokens_call", "jsonl_call", "python", "python_spans"))
