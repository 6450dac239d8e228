#!/usr/bin/env bash
# Whether training's speed follows where the host puts the two CPUs (Eval/SPEED.md, session
# 53). ROUNDS rounds (default 20), each the cache-line round trip between CPUs 0 and 1
# (scripts/core-round-trip.c) and then one epoch of ATIS training without character features
# (as `make bench-peers` trains) by each binary given, two alternating which goes first.
# Prints a line a round, "ROUND_TRIP_NS shared|apart TOKENS_PER_SECOND..." (with two
# binaries, then NEW/OLD), and with two binaries the median ratio of the rounds whose CPUs
# shared a cache and of the others. EXTRA adds training options
# (EXTRA='--character-filters 30' trains with character features). Run it while nothing
# else does.
#   [ROUNDS=20] [EXTRA=...] scripts/placement-modes.sh OLD [NEW] [TRAIN.conll]
set -euo pipefail
old=${1:?usage: scripts/placement-modes.sh OLD [NEW] [TRAIN.conll]}
new=${2:-}
train=${3:-../shared/corpora/atis/train.conll}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -pthread scripts/core-round-trip.c -o "$work/round-trip"
rate() {
  # shellcheck disable=SC2086 # EXTRA is a list of options
  "$1" train --train "$train" --model "$work/model" --epochs 1 --seed 1 \
    --character-filters 0 ${EXTRA:-} 2>&1 |
    awk '/^epoch/ { for (i = 1; i < NF; i++) if ($(i + 1) == "tokens/s") r = $i } END { print r }'
}
for round in $(seq "${ROUNDS:-20}"); do
  trip=$("$work/round-trip")
  if [ -z "$new" ]; then
    echo "$trip $(rate "$old")"
    continue
  fi
  # Alternate which binary goes first, so that a drift in the machine's speed favours neither.
  if [ $((round % 2)) = 1 ]; then
    a=$(rate "$old")
    b=$(rate "$new")
  else
    b=$(rate "$new")
    a=$(rate "$old")
  fi
  echo "$trip $a $b $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
done | tee "$work/rounds"
[ -z "$new" ] && exit 0
for side in shared apart; do
  awk -v side="$side" '$2 == side { print $5 }' "$work/rounds" | sort -n |
    awk -v side="$side" '{ r[NR] = $1 } END {
      if (NR) printf "%s (%d rounds): median NEW/OLD %.3f (%.3f-%.3f)\n", side, NR,
        (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2), r[1], r[NR] }'
done
