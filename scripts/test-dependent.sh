#!/usr/bin/env bash
# `make test-dependent`: a Swift package that depends on Trellis as the README's "Depending on
# Trellis" shows (its `dependencies:` and `targets:` lines, `traits: []` included) resolves no
# other package, builds, and runs the README's library example as its main.swift (then prints
# the example's spans) on a model trained here on the shipped corpus. The README's two Swift
# blocks are read from README.md, so an example that stops compiling or running fails here.
# Usage: scripts/test-dependent.sh TRELLIS_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "$1")
checkout=$PWD

# The Swift block after the first line starting with $1, without its fences.
swift_block_after() {
  awk -v start="$1" '
    index($0, start) == 1 { found = 1 }
    found && /^```swift$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
  ' README.md
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# SwiftPM leaves a package's lock files in TMPDIR: inside the work folder, they go with it.
mkdir "$work/tmp"
export TMPDIR="$work/tmp"
# The README's dependency is a checkout at ../trellis, beside the dependent package.
ln -s "$checkout" "$work/trellis"
mkdir -p "$work/MyTagger/Sources/MyTagger"
{
  echo "// swift-tools-version:6.1"
  echo "import PackageDescription"
  echo "let package = Package("
  echo "  name: \"MyTagger\","
  swift_block_after "**Depending on Trellis.**"
  echo ")"
} > "$work/MyTagger/Package.swift"
# The example, then a line that prints what it found.
{
  swift_block_after "## The library"
  echo "print(spans)"
} > "$work/MyTagger/Sources/MyTagger/main.swift"
grep -q "import Trellis" "$work/MyTagger/Sources/MyTagger/main.swift"

cd "$work/MyTagger"
swift package resolve
fetched=$(ls .build/checkouts 2> /dev/null || true)
if [ -n "$fetched" ]; then
  echo "FAILED: resolving a dependency on Trellis fetched: $(echo $fetched)" >&2
  exit 1
fi
echo "ok: resolving a dependency on Trellis fetched no other package"
swift build

# The example reads models/synthetic.model, where `make train` writes it.
mkdir -p "$work/run/models"
"$binary" train --train "$checkout/Corpora/synthetic/train.conll" --epochs 1 --seed 1 \
  --model "$work/run/models/synthetic.model" --quiet
spans=$(cd "$work/run" && "$work/MyTagger/.build/debug/MyTagger")
case $spans in
  \[*\]) echo "ok: the README's library example ran and printed its spans: $spans" ;;
  *)
    echo "FAILED: the README's library example printed: $spans" >&2
    exit 1
    ;;
esac
echo "make test-dependent: every check passed"
