#!/usr/bin/env python3
"""Shares of a perf profile's samples by the code they were taken under (README "Where the
time goes", session 27). Reads `perf script -F ip,sym` of a `perf record -g` profile on
standard input; each NAME=PATTERN names a bucket, and a sample goes to the first bucket whose
PATTERN is a substring of any function on its stack (the rest to "other"). Prints each
bucket's share and its five most sampled leaf functions.
  perf script -i P -F ip,sym | scripts/perf-buckets.py parse=TaggingRequestV8jsonLine ...
"""
import collections
import sys


def main() -> None:
    buckets = [argument.split("=", 1) for argument in sys.argv[1:]]
    if not buckets or any(len(bucket) != 2 for bucket in buckets):
        sys.exit(__doc__)
    totals: collections.Counter = collections.Counter()
    leaves: dict = collections.defaultdict(collections.Counter)
    samples = 0
    for block in sys.stdin.read().split("\n\n"):
        # Each line is "ADDRESS SYMBOL"; the first is the sampled (leaf) function.
        stack = [line.split(None, 1)[-1] for line in block.strip().split("\n") if line.strip()]
        if not stack:
            continue
        samples += 1
        name = next(
            (name for name, pattern in buckets if any(pattern in frame for frame in stack)),
            "other")
        totals[name] += 1
        leaves[name][stack[0][:100]] += 1
    for name, count in totals.most_common():
        print(f"{name}: {100 * count / samples:.1f}%")
        for leaf, leaf_count in leaves[name].most_common(5):
            print(f"    {100 * leaf_count / samples:.2f}% {leaf}")


if __name__ == "__main__":
    main()
