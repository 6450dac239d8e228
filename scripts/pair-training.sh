#!/usr/bin/env bash
# Two `trellis` binaries' training speed against each other (Eval/SPEED.md, sessions 22–23): one
# epoch of ATIS training without character features (the peer's sizes, as `make bench-peers`
# trains), OLD and NEW alternating for ROUNDS rounds (default 20). Two figures a run: the
# tokens/s its epoch line prints (training steps only: reading the corpus and writing the model
# are left out) and the whole process's wall time. Before each round scripts/core-round-trip.c
# says where the host has the two CPUs (sharing a cache or apart, which moves training by
# 10-18% on a virtual machine; Eval/SPEED.md, session 53). Prints each round's placement and
# rates, then the medians of the rounds' NEW/OLD ratios and their ranges, in all and by
# placement. The kernels' level is the environment's (TRELLIS_KERNELS=avx2 for an
# AVX2 CPU's code); TRELLIS_FLAGS replaces the training options `--character-filters 0`
# (TRELLIS_FLAGS= trains the default model, with character features).
#   [ROUNDS=20] [TRELLIS_KERNELS=L] [TRELLIS_FLAGS=...] scripts/pair-training.sh OLD NEW [TRAIN]
set -euo pipefail
old=${1:?usage: scripts/pair-training.sh OLD NEW [TRAIN.conll]}
new=${2:?usage: scripts/pair-training.sh OLD NEW [TRAIN.conll]}
train=${3:-$(make --no-print-directory -s atis-path)/train.conll}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -pthread scripts/core-round-trip.c -o "$work/round-trip"
# Sets `result` to "TOKENS_PER_SECOND WALL_SECONDS" for one run of binary $1; stops the script
# with what the binary printed when it fails or prints no epoch's rate (a missing corpus or
# binary made up figures of the wall time, and the script ended with status 0).
run() {
  local start end rate
  start=$(date +%s.%N)
  # shellcheck disable=SC2086 # TRELLIS_FLAGS is a list of options
  if ! "$1" train --train "$train" --model "$work/model" --epochs 1 --seed 1 \
    ${TRELLIS_FLAGS---character-filters 0} > "$work/out" 2>&1; then
    echo "error: $1 train failed:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  rate=$(awk '/^epoch/ { for (i = 1; i < NF; i++) if ($(i + 1) == "tokens/s") r = $i } END { print r }' \
    "$work/out")
  if [ -z "$rate" ]; then
    echo "error: $1 train printed no epoch's tokens/s:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  result="$rate $(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')"
}
rates=() walls=() placements=()
for round in $(seq "${ROUNDS:-20}"); do
  read -r trip placement <<< "$("$work/round-trip")"
  # Alternate which binary goes first, so that a drift in the machine's speed favours neither.
  if ((round % 2)); then
    run "$old" && a=$result && run "$new" && b=$result
  else
    run "$new" && b=$result && run "$old" && a=$result
  fi
  read -r a_rate a_wall <<< "$a"
  read -r b_rate b_wall <<< "$b"
  echo "round $round: CPUs $placement ($trip ns), OLD $a_rate, NEW $b_rate tokens/s"
  rates+=("$(awk -v a="$a_rate" -v b="$b_rate" 'BEGIN { print b / a }')")
  walls+=("$(awk -v a="$a_wall" -v b="$b_wall" 'BEGIN { print b / a }')")
  placements+=("$placement")
done
summary() {
  sort -g | awk -v what="$1" '{ v[NR] = $1 } END {
    if (NR) printf "NEW/OLD %s: median %.3f (%.3f-%.3f) over %d rounds\n",
      what, v[int((NR + 1) / 2)], v[1], v[NR], NR }'
}
printf '%s\n' "${rates[@]}" | summary "training tokens/s"
printf '%s\n' "${walls[@]}" | summary "whole-process wall time"
for side in shared apart; do
  for i in "${!rates[@]}"; do
    if [ "${placements[$i]}" = "$side" ]; then echo "${rates[$i]}"; fi
  done | summary "training tokens/s, CPUs $side"
done
