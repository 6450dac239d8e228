#!/usr/bin/env python3
"""Two `trellis` binaries' BiLSTM rates against each other (Eval/SPEED.md, session 25):
`trellis bench --repetitions 1` of OLD and NEW alternating for ROUNDS rounds (default 15),
each run's forward and backward GFLOP/s and their share of the sgemm figure measured in the
same run (`--json`). Prints the medians (and ranges) of the rounds' NEW/OLD ratios, then each
binary's median share of sgemm: on a machine whose speed moves from second to second, the
median of many runs says more than one run.
    [ROUNDS=15] scripts/pair-bench-lstm.py OLD NEW [CORPUS]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python", "tools"))
from release_binary import path_from_make  # noqa: E402 (path set above)


def bench(binary, corpus, directory):
    """(forward, backward, sgemm) GFLOP/s of one `trellis bench` run of `binary`."""
    figures = os.path.join(directory, "bench.json")
    subprocess.run(
        [binary, "bench", "--corpus", corpus, "--repetitions", "1", "--json", figures],
        check=True, stdout=subprocess.DEVNULL)
    with open(figures) as file:
        run = json.load(file)
    return run["lstm_forward_gflops"], run["lstm_backward_gflops"], run["sgemm_gflops"]


def spread(values, form):
    return f"median {form % statistics.median(values)} ({form % min(values)}-{form % max(values)})"


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: scripts/pair-bench-lstm.py OLD NEW [CORPUS]")
    old, new = sys.argv[1], sys.argv[2]
    corpus = (sys.argv[3] if len(sys.argv) == 4
              else os.path.join(ROOT, path_from_make(ROOT, "atis-path")))
    rounds = int(os.environ.get("ROUNDS", "15"))
    # Runs by role, not by path: OLD and NEW may be one binary (the noise of a null pairing),
    # whose runs keyed by path went to one list and paired each with itself.
    runs = {"OLD": [], "NEW": []}
    with tempfile.TemporaryDirectory() as directory:
        for round_index in range(rounds):
            # Alternate which binary goes first, so that a drift in the machine's speed
            # favours neither.
            for label in ("OLD", "NEW") if round_index % 2 == 0 else ("NEW", "OLD"):
                binary = old if label == "OLD" else new
                runs[label].append(bench(binary, corpus, directory))
    for index, name in ((0, "forward"), (1, "backward")):
        ratios = [n[index] / o[index] for o, n in zip(runs["OLD"], runs["NEW"])]
        print(f"NEW/OLD BiLSTM {name} GFLOP/s: {spread(ratios, '%.3f')} over {rounds} rounds")
    for label in ("OLD", "NEW"):
        shares = [[100 * run[index] / run[2] for run in runs[label]] for index in (0, 1)]
        print(f"{label} share of sgemm: forward {spread(shares[0], '%.0f%%')}, "
              f"backward {spread(shares[1], '%.0f%%')}")


if __name__ == "__main__":
    main()
