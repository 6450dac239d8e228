#!/usr/bin/env python3
"""Dev-set comparison behind Trellis's default training settings (README "Default settings,
and why").

Trains each candidate of Eval/defaults/candidates.json with seeds 1..N on each corpus's train
split, selects epochs on its dev split, and reports the mean best dev FB1, the epoch it came
from and the training time. Test splits are never read: the defaults are chosen on dev only.

    python3 Eval/choose_defaults.py [--seeds 3] [--corpus DIR ...] [--only NAME ...]

Updates Eval/defaults/results.json and prints a table. A row is one candidate on one corpus
with one number of seeds by one build of Trellis (`trellis --version`, the version and its
commit): a run replaces only the row it repeats, so a three-seed run leaves the five-seed row
of the same candidate, and a build with other arithmetic leaves the rows of the builds before.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from trellis_eval.cli import positive
from trellis_eval.layout import ATIS_CORPUS, QUICK_CORPUS
from trellis_eval.layout import DEFAULT_BIN as BINARY

HERE = os.path.dirname(os.path.abspath(__file__))


def run(corpus, flags, seed, workdir):
    log = os.path.join(workdir, "log.jsonl")
    command = [BINARY, "train", "--train", f"{corpus}/train.conll", "--dev", f"{corpus}/dev.conll",
               "--model", os.path.join(workdir, "model"), "--seed", str(seed), "--log", log, "--quiet"]
    started = time.monotonic()
    subprocess.run(command + flags, check=True)
    seconds = time.monotonic() - started
    with open(log) as f:
        epochs = [r for r in map(json.loads, f) if "epoch" in r]
    best = [r for r in epochs if r["is_best"]][-1]  # the epoch the trainer kept
    return {"dev_f1": best["dev_f1"], "best_epoch": best["epoch"], "epochs": len(epochs), "seconds": seconds}


def build_version():
    """`trellis --version` of the binary that trains the candidates."""
    return subprocess.run([BINARY, "--version"], check=True, capture_output=True,
                          text=True).stdout.strip()


def row_key(row):
    """What a row measured: rows from before builds were recorded have none (None)."""
    return row["candidate"], row["corpus"], len(row["runs"]), row.get("trellis")


def main(argv=None):
    with open(os.path.join(HERE, "defaults", "candidates.json")) as f:
        candidates = json.load(f)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=positive, default=3)
    parser.add_argument("--corpus", action="append")
    # A misspelt name would otherwise run nothing and report success.
    parser.add_argument("--only", action="append", choices=candidates, metavar="NAME")
    arguments = parser.parse_args(argv)
    corpora = arguments.corpus or [ATIS_CORPUS, QUICK_CORPUS]
    version = build_version()
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for name, flags in candidates.items():
            if arguments.only and name not in arguments.only:
                continue
            for corpus in corpora:
                runs = [run(corpus, flags, seed, workdir) for seed in range(1, arguments.seeds + 1)]
                row = {"candidate": name, "flags": flags, "corpus": corpus, "trellis": version,
                       "runs": runs,
                       "mean_dev_f1": statistics.mean(r["dev_f1"] for r in runs),
                       "mean_seconds": statistics.mean(r["seconds"] for r in runs)}
                results.append(row)
                print(f"{name:24} {os.path.basename(corpus):10} dev FB1 {row['mean_dev_f1']:6.2f}  "
                      f"best epochs {[r['best_epoch'] for r in runs]}  {row['mean_seconds']:5.1f} s/run",
                      flush=True)
    # Rows of what was not run this time (other candidates, corpora, seeds, builds) are kept.
    path = os.path.join(HERE, "defaults", "results.json")
    fresh = {row_key(row) for row in results}
    kept = []
    if os.path.exists(path):
        with open(path) as f:
            kept = [row for row in json.load(f) if row_key(row) not in fresh]
    with open(path, "w") as f:
        json.dump(kept + results, f, indent=1)


if __name__ == "__main__":
    main()
