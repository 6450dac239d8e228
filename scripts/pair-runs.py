#!/usr/bin/env python3
"""Two binaries' whole processes on the same arguments, alternating (README "Speed",
Eval/SPEED.md session 38): OLD ARGS and NEW ARGS in ROUNDS rounds (default 30), which one goes
first alternating so that a drift in a shared machine's speed favours neither, standard output
to /dev/null. Prints each binary's median wall time and the median of the rounds' NEW/OLD
ratios with their range.
  [ROUNDS=30] scripts/pair-runs.py OLD NEW ARGS...
  e.g. scripts/pair-runs.py old/trellis new/trellis tag --model M FILE
"""
import os
import statistics
import subprocess
import sys
import time


def wall_seconds(command: list) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    old, new, arguments = sys.argv[1], sys.argv[2], sys.argv[3:]
    rounds = int(os.environ.get("ROUNDS", "30"))
    # Wall times by role, not by path: OLD and NEW may be one binary (the noise of a null
    # pairing), whose times keyed by path went to one list and paired each with itself (1.000).
    binaries = {"OLD": old, "NEW": new}
    walls: dict = {"OLD": [], "NEW": []}
    for round_number in range(rounds):
        order = ("OLD", "NEW") if round_number % 2 == 0 else ("NEW", "OLD")
        for role in order:
            walls[role].append(wall_seconds([binaries[role]] + arguments))
    ratios = sorted(n / o for o, n in zip(walls["OLD"], walls["NEW"]))
    print(f"OLD median {statistics.median(walls['OLD']) * 1000:.1f} ms, "
          f"NEW median {statistics.median(walls['NEW']) * 1000:.1f} ms")
    print(f"NEW/OLD wall time: median {statistics.median(ratios):.3f} "
          f"({ratios[0]:.3f}-{ratios[-1]:.3f}) over {rounds} rounds")


if __name__ == "__main__":
    main()
