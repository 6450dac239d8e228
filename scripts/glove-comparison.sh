#!/usr/bin/env bash
# The README's pretrained-vector comparison on ATIS: the default settings at
# --embedding-size 50 (GloVe 6B's size), seeds 1-3, without vectors, with GloVe, and with
# GloVe frozen. Prints each run's test FB1 and parameter count, then per variant the mean and
# standard deviation of FB1 and the mean training tokens/s over all epochs (the trainer's
# measure: training steps only, as in the logs).
# Usage: scripts/glove-comparison.sh [VECTORS]   (default: the file `make glove` writes)
set -euo pipefail
bin=$(make --no-print-directory -s bin-path)
atis=$(make --no-print-directory -s atis-path)
if [ -z "${1:-}" ]; then
  # Made first, its output on standard error: the path alone is what the second call prints
  # (the first also echoed the venv's and pip's commands, which became part of the "path").
  make -s --no-print-directory glove >&2
fi
vectors=${1:-$(make -s --no-print-directory glove)}
# Checked first: the runs without vectors come first, and took an ATIS training to reach it.
[ -f "$vectors" ] || { echo "error: $vectors: no such file" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for seed in 1 2 3; do
  for variant in none glove frozen; do
    flags=()
    [ "$variant" != none ] && flags+=(--embeddings "$vectors")
    [ "$variant" = frozen ] && flags+=(--freeze-embeddings)
    model=$work/$variant-$seed.model
    "$bin" train --train "$atis/train.conll" --dev "$atis/dev.conll" --test "$atis/test.conll" \
      --model "$model" --seed "$seed" --embedding-size 50 --log "$work/$variant-$seed.jsonl" \
      --quiet "${flags[@]}"
    "$bin" eval --model "$model" --test "$atis/test.conll" --json > "$work/$variant-$seed.eval"
    "$bin" info "$model" --json > "$work/$variant-$seed.info"
  done
done
python3 - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
for variant in ("none", "glove", "frozen"):
    scores, rates = [], []
    for seed in (1, 2, 3):
        f1 = json.load(open(f"{work}/{variant}-{seed}.eval"))["f1"]
        parameters = json.load(open(f"{work}/{variant}-{seed}.info"))["parameters"]
        print(f"{variant} seed {seed}: test FB1 {f1:.2f}, {parameters:,} parameters")
        scores.append(f1)
        for line in open(f"{work}/{variant}-{seed}.jsonl"):
            record = json.loads(line)
            if "tokens_per_second" in record:
                rates.append(record["tokens_per_second"])
    print(f"{variant}: {statistics.mean(scores):.2f} ± {statistics.stdev(scores):.2f}, "
          f"{statistics.mean(rates):,.0f} training tokens/s")
PY
