"""Tokens/s of Python's `Tagger.tag` against the library call it makes, in one process.

    make python-bench        # or: python/.venv/bin/python python/tools/bench.py TEST.conll

The "library" figure is `trellis_tag_jsonl` alone (through ctypes, requests already encoded,
answers copied out): the Swift work. The "Python" figure is `Tagger.tag` on token lists:
requests built, the same call, answers parsed into `TaggingResult`s. Both tag the same batch
at batch size 32; runs alternate, and each figure is the median (and the best) of
--repetitions runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import trellis
from trellis import _library

sys.path.insert(0, str(Path(__file__).parent))
from conll_to_jsonl import conll_sentences  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]


def train_model(cli: Path, corpus: Path, path: Path) -> None:
    """The default BiLSTM-CRF settings for 3 epochs: tagging speed needs no accuracy."""
    subprocess.run(
        [str(cli), "train", "--train", str(corpus / "train.conll"), "--model", str(path),
         "--epochs", "3", "--seed", "1", "--quiet"], check=True)


def seconds(body: Callable[[], object]) -> float:
    started = time.perf_counter()
    body()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test", help="CoNLL file to tag (the shipped test split)")
    parser.add_argument("--model", help="model file (default: train one on the test's corpus)")
    parser.add_argument("--repetitions", type=int, default=30)
    parser.add_argument("--confidence", action="store_true")
    arguments = parser.parse_args()
    sentences: List[List[str]] = list(conll_sentences(arguments.test))
    tokens = sum(len(sentence) for sentence in sentences)
    with tempfile.TemporaryDirectory() as directory:
        model = arguments.model or str(Path(directory) / "bench.model")
        if not arguments.model:
            cli = Path(os.environ.get("TRELLIS_CLI", REPOSITORY / ".build/release/trellis"))
            train_model(cli, Path(arguments.test).parent, Path(model))
        tagger = trellis.Tagger(model)
    options = {"batch_size": 32, **({"confidence": True} if arguments.confidence else {})}
    requests = "\n".join(
        json.dumps({"tokens": s}, ensure_ascii=False, separators=(",", ":")) for s in sentences
    ).encode()
    encoded_options = json.dumps(options).encode()
    handle = tagger._live_handle()

    def library_call() -> bytes:
        return _library.tag_jsonl(handle, requests, encoded_options)

    def python_call() -> list:
        return tagger.tag(sentences, confidence=arguments.confidence, batch_size=32)

    assert [r.json_line for r in python_call()] == library_call().decode().splitlines()
    times = {"library": [], "python": []}
    for _ in range(arguments.repetitions):
        times["library"].append(seconds(library_call))
        times["python"].append(seconds(python_call))
    rates = {name: tokens / statistics.median(values) for name, values in times.items()}
    best = {name: tokens / min(values) for name, values in times.items()}
    print(f"{len(sentences)} sentences, {tokens} tokens, batch size 32, "
          f"{arguments.repetitions} alternating runs, confidence {arguments.confidence}")
    print("tokens/s                                   median        best")
    for name, label in (("library", "trellis_tag_jsonl (Swift, in process)"),
                        ("python", "Tagger.tag (Python objects)")):
        print(f"  {label:38s} {rates[name]:10.0f}  {best[name]:10.0f}")
    print(f"  {'Python / library':38s} {rates['python'] / rates['library']:10.1%}  "
          f"{best['python'] / best['library']:10.1%}")
    print(json.dumps({"tokens": tokens, "library_tokens_per_second": round(rates["library"]),
                      "python_tokens_per_second": round(rates["python"]),
                      "ratio": round(rates["python"] / rates["library"], 3),
                      "best_ratio": round(best["python"] / best["library"], 3)}))

if __name__ == "__main__":
    main()
