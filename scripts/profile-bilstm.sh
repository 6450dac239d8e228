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
# A sample's stack is a block of "TID TIME:" then "ADDRESS SYMBOL" lines, the sampled (leaf)
# function first. Counted: the samples of every thread under the encoder's passes
# (`Encoder.forward`, `Encoder.backward`) between the first and the last sample under
# `lstmGFLOPs`, so the second thread's share is in and the passes' set-up (weights, inputs)
# and the trainings before them are out.
perf script -i "$work/perf.data" -F tid,time,ip,sym 2> /dev/null | python3 -c '
import collections, sys
samples = []
for block in sys.stdin.read().split("\n\n"):
    lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
    if len(lines) < 2:
        continue
    time = float(lines[0].split()[1].rstrip(":"))
    samples.append((time, [line.split(None, 1)[-1] for line in lines[1:]]))
inside = [time for time, stack in samples if any("lstmGFLOPs" in frame for frame in stack)]
if not inside:
    sys.exit("no samples under lstmGFLOPs: is this trellis bench?")
passes = ("EncoderV7forward", "EncoderV8backward")
leaves = collections.Counter(
    stack[0] for time, stack in samples
    if min(inside) <= time <= max(inside) and any(p in frame for frame in stack for p in passes))
total = sum(leaves.values())
print(f"{total} samples inside the BiLSTM passes")
for leaf, count in leaves.most_common(25):
    print(f"{100 * count / total:6.2f}%  {leaf[:110]}")
'
