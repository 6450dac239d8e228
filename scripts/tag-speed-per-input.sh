#!/bin/bash
# Whole `trellis tag` processes against the library on the same sentences (README "Speed"):
# ATIS test x 40 as CoNLL, as text (one line of tokens per sentence) and as JSON lines; first
# `trellis bench --model M --test FILE` (the library's batch-32 rate), then `trellis tag`
# three times per input form, the median wall time, and its share of the library's rate.
#   scripts/tag-speed-per-input.sh MODEL [TEST.conll]
set -euo pipefail
model=${1:?usage: scripts/tag-speed-per-input.sh MODEL [TEST.conll]}
test_file=${2:-../shared/corpora/atis/test.conll}
trellis=.build/release/trellis
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
library=$("$trellis" bench --model "$model" --test "$work/test.conll" | awk '/^tokens\/s/ {print $3}')
echo "library, batch 32: $library tokens/s ($tokens tokens)"
for form in conll text jsonl; do
  case $form in
    conll) input=("$work/test.conll") ;;
    text) input=(--input text "$work/test.txt") ;;
    jsonl) input=(--input jsonl "$work/test.jsonl") ;;
  esac
  seconds=$(for _ in 1 2 3; do
    /usr/bin/time -f %e "$trellis" tag --model "$model" "${input[@]}" 2>&1 >/dev/null
  done | sort -n | sed -n 2p)
  awk -v f=$form -v s="$seconds" -v n="$tokens" -v l="$library" \
    'BEGIN {printf "%-5s %.2f s  %d tokens/s  %.0f%% of the library\n", f, s, n / s, 100 * n / s / l}'
done
