#!/usr/bin/env bash
# Prints the SHA-256 of the weights of a model trained for every head x encoder (and the options
# that take other code paths: window, character CNN, SGD, averaging, BIOES, pretrained vectors)
# on the shipped corpus, with a fixed seed. A refactor that must not change behaviour gives the
# same list before and after:
#   scripts/fingerprint-models.sh > before.txt; ...; diff before.txt after.txt
# Only the parameters are hashed (ModelFile: after the 16-byte preamble and the JSON header,
# before the CRC): the header's provenance names the build's commit and this run's temporary
# paths, which differ between any two runs.
# Usage: scripts/fingerprint-models.sh [TRELLIS_BINARY]
set -euo pipefail
bin=${1:-$(make --no-print-directory -s bin-path)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=$(make --no-print-directory -s shipped-corpus-path)
head -n 3000 "$corpus/train.conll" > "$work/train.conll"
printf '%s\n' "the 0.1 0.2 0.3 0.4" "to -0.5 0.25 0 1" "flights 1 1 1 1" > "$work/vectors.txt"
run() {
  local name=$1; shift
  "$bin" train --train "$work/train.conll" --dev "$corpus/dev.conll" --model "$work/$name.model" \
    --epochs 2 --embedding-size 16 --hidden-size 16 --quiet "$@"
  local header
  header=$(od -An -tu4 -j12 -N4 "$work/$name.model" | tr -d ' ')
  local weights
  weights=$(tail -c +$((17 + header)) "$work/$name.model" | head -c -4 | sha256sum)
  echo "${weights:0:16}  $name"
}
for head in crf perceptron ssvm softmax; do
  for encoder in bilstm lstm birnn rnn bigru gru; do
    run "$encoder-$head" --encoder "$encoder" --head "$head"
  done
done
run window --window 2
run characters --character-filters 8
run sgd --optimizer sgd --learning-rate-decay 0.1
run average --average --head perceptron
run bioes --scheme bioes
run vectors --embedding-size 4 --embeddings "$work/vectors.txt"
