#!/usr/bin/env bash
# Prints the SHA-256 of a model trained for every head x encoder (and the options that take
# other code paths: window, character CNN, SGD, averaging, BIOES, pretrained vectors) on the
# shipped corpus, with a fixed seed. A refactor that must not change behaviour gives the same
# list before and after:  scripts/fingerprint-models.sh > before.txt; ...; diff before.txt after.txt
# Usage: scripts/fingerprint-models.sh [TRELLIS_BINARY]
set -euo pipefail
bin=${1:-.build/release/trellis}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=Corpora/synthetic
head -n 3000 "$corpus/train.conll" > "$work/train.conll"
printf '%s\n' "the 0.1 0.2 0.3 0.4" "to -0.5 0.25 0 1" "flights 1 1 1 1" > "$work/vectors.txt"
run() {
  local name=$1; shift
  "$bin" train --train "$work/train.conll" --dev "$corpus/dev.conll" --model "$work/$name.model" \
    --epochs 2 --embedding-size 16 --hidden-size 16 --quiet "$@"
  echo "$(sha256sum < "$work/$name.model" | cut -c1-16)  $name"
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
