#!/usr/bin/env bash
# Where the BiLSTM's own time goes (README "Speed", Eval/SPEED.md session 26): `trellis bench`
# on the tiny fixture corpus (its trainings and tagging take a fraction of a second) under
# `perf record -e cpu-clock -g`, then each function's own share of the samples taken inside
# the BiLSTM passes that `trellis bench` rates (`Benchmark.lstmGFLOPs`: T = 12, B = 32, 100
# inputs, 100 units per direction, 40 forward and backward passes a round; forward and
# backward together, both threads), and the passes' GFLOP/s as bench prints them. No
# training's samples: the profile holds the encoder alone, which a profile of a training
# buries under everything else. ROUNDS is bench's --repetitions (default 15, 600 passes).
# Needs perf and the release build (`make build`; BIN names another binary).
#   [ROUNDS=15] [BIN=TRELLIS] scripts/profile-bilstm.sh
set -euo pipefail
bin=${BIN:-$(make --no-print-directory -s bin-path)}
[ -x "$bin" ] || { echo "no $bin: run make build first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
perf record -q -e cpu-clock -g -o "$work/perf.data" \
  "$bin" bench --corpus Corpora/tiny --repetitions "${ROUNDS:-15}" > "$work/bench.txt"
grep '^BiLSTM' "$work/bench.txt"
# A sample's stack is a block of "ADDRESS SYMBOL" lines, the sampled (leaf) function first.
perf script -i "$work/perf.data" -F ip,sym 2> /dev/null | python3 -c '
import collections, sys
leaves = collections.Counter()
for block in sys.stdin.read().split("\n\n"):
    stack = [line.strip().split(None, 1)[-1] for line in block.strip().split("\n") if line.strip()]
    if any("lstmGFLOPs" in frame for frame in stack):
        leaves[stack[0]] += 1
total = sum(leaves.values())
print(f"{total} samples inside the BiLSTM passes")
for leaf, count in leaves.most_common(25):
    print(f"{100 * count / total:6.2f}%  {leaf[:110]}")
'
