#!/bin/bash
# Whole `trellis tag` processes against the library on the same sentences (README "Speed"):
# ATIS test x 40 as CoNLL, as text (one line of tokens per sentence) and as JSON lines; first
# `trellis bench --model M --test FILE` (the library's batch-32 rate, model load excluded, of
# `TaggerModel.tag` and of `tagJSONLines` on the sentences as requests), then one whole
# `trellis tag` process per input form (wall time, model load included), in ROUNDS rounds
# (default 5); medians, their share of the library's rate, and each round's share; JSON lines
# also against the library's JSON-lines rate (the same parsing and answers, in-process).
#   [ROUNDS=5] scripts/tag-speed-per-input.sh MODEL [TEST.conll]
set -euo pipefail
model=${1:?usage: scripts/tag-speed-per-input.sh MODEL [TEST.conll]}
test_file=${2:-$(make --no-print-directory -s atis-path)/test.conll}
trellis=$(make --no-print-directory -s bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in $(seq 40); do cat "$test_file"; echo; done > "$work/test.conll"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
blocks = [b for b in open(f"{work}/test.conll").read().split("\n\n") if b.strip()]
sentences = [[line.split()[0] for line in b.strip().split("\n")] for b in blocks]
with open(f"{work}/test.txt", "w") as text, open(f"{work}/test.jsonl", "w") as lines:
    for number, tokens in enumerate(sentences, start=1):
        text.write(" ".join(tokens) + "\n")
        lines.write(json.dumps({"id": number, "tokens": tokens}, ensure_ascii=False,
                               separators=(",", ":")) + "\n")
PY
tokens=$(grep -c . "$work/test.conll")
# Rounds alternate the library and the three whole processes, so a drift in the shared
# machine's speed moves all four alike; each figure is the median of its rounds.
rounds=${ROUNDS:-5}
declare -A runs
for _ in $(seq "$rounds"); do
  bench=$("$trellis" bench --model "$model" --test "$work/test.conll" --repetitions 1)
  runs[library]+=" $(awk '/^tokens\/s/ {print $3}' <<<"$bench")"
  runs[libjsonl]+=" $(awk '/^JSON lines/ {print $4}' <<<"$bench")"
  for form in conll text jsonl; do
    case $form in
      conll) input=("$work/test.conll") ;;
      text) input=(--input text "$work/test.txt") ;;
      jsonl) input=(--input jsonl "$work/test.jsonl") ;;
    esac
    start=$(date +%s.%N)
    "$trellis" tag --model "$model" "${input[@]}" >/dev/null
    runs[$form]+=" $(awk -v n="$tokens" -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {print n / (e - s)}')"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
library=$(median "${runs[library]}")
printf "library, batch 32: %.0f tokens/s (%d tokens; median of %d rounds)\n" "$library" "$tokens" "$rounds"
printf "library, JSON lines: %.0f tokens/s\n" "$(median "${runs[libjsonl]}")"
for form in conll text jsonl; do
  rate=$(median "${runs[$form]}")
  awk -v f=$form -v r="$rate" -v l="$library" -v all="${runs[$form]}" -v lib="${runs[library]}" \
    'BEGIN {
      n = split(all, a, " "); split(lib, b, " ")
      for (k = 1; k <= n; k++) shares = shares sprintf(" %.0f", 100 * a[k] / b[k])
      printf "%-5s %.0f tokens/s  %.0f%% of the library (per round:%s)\n", f, r, 100 * r / l, shares
    }'
done
awk -v r="$(median "${runs[jsonl]}")" -v l="$(median "${runs[libjsonl]}")" \
  'BEGIN { printf "jsonl %.0f%% of the library'"'"'s JSON lines\n", 100 * r / l }'
