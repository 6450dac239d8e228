"""Tokens/s of Python's `Tagger.tag` against the Swift library's own tagging call, in one run.

    make python-bench        # or: python/.venv/bin/python python/tools/bench.py TEST.conll

Four figures, each on the same sentences at batch size 32, labels only:
- "Swift TaggerModel.tag": the library's call in Swift, timed inside `trellis bench --model`
  (one process per round: model loaded, one untimed run, one timed run), the baseline.
- "trellis_tag_tokens": the C call `Tagger.tag` makes, through ctypes with the buffers already
  encoded: Swift's `tag` plus reading the token buffer and writing the label, span arrays.
- "trellis_tag_jsonl": the JSON-lines C call, requests already encoded, answers copied out.
- "Tagger.tag": token lists in, `TaggingResult`s out (spans and answer lines are written when
  first read; see "Tagger.tag + spans" for a caller that reads them all).
Rounds alternate the figures; each is the median (and the best) of --repetitions rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Callable, Dict, List

import trellis
from trellis import _library

sys.path.insert(0, str(Path(__file__).parent))
from conll_to_jsonl import conll_sentences  # noqa: E402
from release_binary import release_binary  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
BATCH_SIZE = 32
FIGURES = {
    "swift": "Swift TaggerModel.tag (trellis bench)",
    "tokens_call": "trellis_tag_tokens (C call, ctypes)",
    "jsonl_call": "trellis_tag_jsonl (C call, ctypes)",
    "python": "Tagger.tag (Python objects)",
    "python_spans": "Tagger.tag + spans of every result",
}


def train_model(cli: Path, corpus: Path, path: Path) -> None:
    """The default BiLSTM-CRF settings for 3 epochs: tagging speed needs no accuracy."""
    subprocess.run(
        [str(cli), "train", "--train", str(corpus / "train.conll"), "--model", str(path),
         "--epochs", "3", "--seed", "1", "--quiet"], check=True)


def seconds(body: Callable[[], object]) -> float:
    started = time.perf_counter()
    body()
    return time.perf_counter() - started


def swift_seconds(cli: Path, model: str, test: str, tokens: int) -> float:
    """One timed run of `TaggerModel.tag` in `trellis bench --model`, as seconds."""
    done = subprocess.run(
        [str(cli), "bench", "--model", model, "--test", test, "--repetitions", "1",
         "--batch-size", str(BATCH_SIZE)], check=True, capture_output=True, text=True)
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["tokens"] == tokens, figures
    return tokens / figures["runs"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test", help="CoNLL file to tag (the shipped test split)")
    parser.add_argument("--model", help="model file (default: train one on the test's corpus)")
    parser.add_argument("--repetitions", type=int, default=30)
    arguments = parser.parse_args()
    cli = release_binary(REPOSITORY)
    with tempfile.TemporaryDirectory() as directory:
        model = arguments.model or str(Path(directory) / "bench.model")
        if not arguments.model:
            train_model(cli, Path(arguments.test).parent, Path(model))
        run(cli, model, arguments.test, arguments.repetitions)


def run(cli: Path, model: str, test: str, repetitions: int) -> None:
    sentences: List[List[str]] = list(conll_sentences(test))
    tokens = sum(len(sentence) for sentence in sentences)
    tagger = trellis.Tagger(model)
    requests = "\n".join(
        json.dumps({"tokens": s}, ensure_ascii=False, separators=(",", ":")) for s in sentences
    ).encode()
    options = json.dumps({"batch_size": BATCH_SIZE}).encode()
    buffer = "".join(token + "\0" for sentence in sentences for token in sentence).encode()
    lengths = array("i", map(len, sentences))

    def tokens_call() -> object:
        # The handle is held for one call, as Tagger's own calls hold it.
        with tagger._live_handle() as handle:
            return _library.tag_tokens(handle, buffer, lengths, BATCH_SIZE, 0)

    def jsonl_call() -> object:
        with tagger._live_handle() as handle:
            return _library.tag_jsonl(handle, requests, options)

    calls: Dict[str, Callable[[], object]] = {
        "tokens_call": tokens_call,
        "jsonl_call": jsonl_call,
        "python": lambda: tagger.tag(sentences, batch_size=BATCH_SIZE),
        "python_spans": lambda: [r.spans for r in tagger.tag(sentences, batch_size=BATCH_SIZE)],
    }
    answers = calls["jsonl_call"]().decode().splitlines()  # type: ignore[union-attr]
    assert [r.json_line for r in tagger.tag(sentences)] == answers, "Python differs from C"
    times: Dict[str, List[float]] = {name: [] for name in FIGURES}
    for _ in range(repetitions):
        times["swift"].append(swift_seconds(cli, model, test, tokens))
        for name, call in calls.items():
            times[name].append(seconds(call))
    rates = {name: tokens / statistics.median(values) for name, values in times.items()}
    best = {name: tokens / min(values) for name, values in times.items()}
    print(f"{len(sentences)} sentences, {tokens} tokens, batch size {BATCH_SIZE}, labels only, "
          f"{repetitions} alternating rounds")
    print("tokens/s                                      median        best")
    for name, label in FIGURES.items():
        print(f"  {label:41s} {rates[name]:10.0f}  {best[name]:10.0f}")
    for label, name, base in (("Tagger.tag / Swift", "python", "swift"),
                              ("Tagger.tag / trellis_tag_tokens", "python", "tokens_call"),
                              ("Tagger.tag + spans / Swift", "python_spans", "swift")):
        print(f"  {label:41s} {rates[name] / rates[base]:10.1%}  "
              f"{best[name] / best[base]:10.1%}")
    print(json.dumps({
        "tokens": tokens, "batch_size": BATCH_SIZE, "rounds": repetitions,
        **{f"{name}_tokens_per_second": round(rate) for name, rate in rates.items()},
        "python_over_swift": round(rates["python"] / rates["swift"], 3),
        "python_over_tokens_call": round(rates["python"] / rates["tokens_call"], 3),
    }))


if __name__ == "__main__":
    main()
