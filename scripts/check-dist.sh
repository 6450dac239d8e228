#!/usr/bin/env bash
# Checks a `make dist` tarball as a machine without a Swift toolchain would see it:
#   scripts/check-dist.sh dist/trellis-VERSION-linux-ARCH.tar.gz
# It unpacks the tarball into a temporary folder and checks that it holds trellis, README.md,
# LICENSE, NOTICE and LICENSE-ICU; that `ldd` finds no Swift or Foundation library and nothing
# under the toolchain (the folder holding `swift`, /opt/swift here); that the dynamic loader, told to
# report every library it loads (LD_DEBUG=libs) with no LD_LIBRARY_PATH, opens nothing there
# either; and that the unpacked binary prints its version and trains, tags and scores the tiny
# corpus.
set -euo pipefail
tarball=${1:?usage: check-dist.sh TARBALL}
root=$(cd "$(dirname "$0")/.." && pwd)
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-dist: $*" >&2; exit 1; }

tar -C "$work" -xzf "$tarball"
name=$(basename "$tarball" .tar.gz)
version=${name#trellis-}
version=${version%-linux-*}
folder="$work/trellis-$version"
for file in trellis README.md LICENSE NOTICE LICENSE-ICU; do
  [ -f "$folder/$file" ] || fail "$tarball lacks trellis-$version/$file"
done
bin="$folder/trellis"

libraries=$(env -u LD_LIBRARY_PATH ldd "$bin")
echo "$libraries"
if grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|not found' \
  <<<"$libraries"; then
  fail "the binary still needs the libraries above"
fi
grep -F "$toolchain/" <<<"$libraries" && fail "ldd resolves into the toolchain ($toolchain)"

# Every library the loader opens for a real run, reported by the loader itself.
loaded=$(env -u LD_LIBRARY_PATH LD_DEBUG=libs "$bin" --version 2>&1 >"$work/version")
grep -F "$toolchain/" <<<"$loaded" && fail "the loader opened files in the toolchain ($toolchain)"
grep -q "^$version\b" "$work/version" \
  || fail "--version printed '$(cat "$work/version")', not $version"
echo "check-dist: loaded $(grep -c 'calling init' <<<"$loaded") libraries, none from $toolchain"

# The unpacked binary at work, still without the toolchain's library folders.
tiny="$root/Corpora/tiny"
env -u LD_LIBRARY_PATH "$bin" train --train "$tiny/train.conll" --dev "$tiny/dev.conll" \
  --model "$work/tiny.model" --epochs 2 --quiet
env -u LD_LIBRARY_PATH LD_DEBUG=libs "$bin" tag --model "$work/tiny.model" --threads 1 \
  "$tiny/test.conll" 2>"$work/tag-libraries" | env -u LD_LIBRARY_PATH "$bin" score >"$work/score"
grep -F "$toolchain/" "$work/tag-libraries" && fail "tag opened files in the toolchain ($toolchain)"
grep -q "^accuracy:" "$work/score" || fail "tag | score printed no report: $(cat "$work/score")"
echo "check-dist: $tarball runs without the Swift toolchain ($(head -1 "$work/score"))"
