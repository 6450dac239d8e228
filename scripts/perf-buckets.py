#!/usr/bin/env python3
"""Shares of a perf profile's samples by the code they were taken under (Eval/SPEED.md,
sessions 27–29). Reads `perf script -F ip,sym` of a `perf record -g` profile on
standard input; each NAME=PATTERN names a bucket, and a sample goes to the first bucket whose
PATTERN is a substring of any function on its stack (the rest to "other"). Prints each
bucket's share and its five most sampled leaf functions.
  perf script -i P -F ip,sym | scripts/perf-buckets.py parse=TaggingRequestV8jsonLine ...
With `perf script -F tid,ip,sym` the shares are per thread instead (each thread with at least
5% of the samples, its shares of its own samples), as a training's two threads need.
"""
import collections
import sys


def main() -> None:
    buckets = [argument.split("=", 1) for argument in sys.argv[1:]]
    if not buckets or any(len(bucket) != 2 for bucket in buckets):
        sys.exit(__doc__)
    totals: dict = collections.defaultdict(collections.Counter)
    leaves: dict = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    samples: collections.Counter = collections.Counter()
    for block in sys.stdin.read().split("\n\n"):
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        # With tid, a sample's first line is the thread id alone; then "ADDRESS SYMBOL" lines,
        # the first the sampled (leaf) function.
        thread = lines.pop(0) if lines and lines[0].isdigit() else "all"
        stack = [line.split(None, 1)[-1] for line in lines]
        if not stack:
            continue
        samples[thread] += 1
        name = next(
            (name for name, pattern in buckets if any(pattern in frame for frame in stack)),
            "other")
        totals[thread][name] += 1
        leaves[thread][name][stack[0][:100]] += 1
    everything = sum(samples.values())
    for thread in sorted(samples, key=lambda t: int(t) if t.isdigit() else 0):
        if samples[thread] < 0.05 * everything:
            continue
        if thread != "all":
            print(f"thread {thread}: {samples[thread]} samples")
        for name, count in totals[thread].most_common():
            print(f"{name}: {100 * count / samples[thread]:.1f}%")
            for leaf, leaf_count in leaves[thread][name].most_common(5):
                print(f"    {100 * leaf_count / samples[thread]:.2f}% {leaf}")


if __name__ == "__main__":
    main()
