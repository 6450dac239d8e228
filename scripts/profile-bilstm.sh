#!/usr/bin/env bash
# Where the BiLSTM's own time goes (README "Speed", Eval/SPEED.md session 26): a throwaway
# package that depends on this checkout runs `Benchmark.lstmGFLOPs` (the passes `trellis bench`
# rates: T = 12, B = 32, 100 inputs, 100 units per direction) REPETITIONS times (default 600)
# under `perf record -e cpu-clock -g`, then prints each function's own share of the samples
# (forward and backward passes together, both threads) and the passes' GFLOP/s. No training,
# no corpus: the profile holds the encoder alone, which a profile of `trellis bench` buries
# under its trainings. Needs perf; the release build of the package takes a minute or two.
#   [REPETITIONS=600] scripts/profile-bilstm.sh
set -euo pipefail
checkout=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/Sources/profile"
cat > "$work/Package.swift" <<EOF
// swift-tools-version:5.9
import PackageDescription
let package = Package(
  name: "profile",
  dependencies: [.package(path: "$checkout")],
  targets: [
    .executableTarget(
      name: "profile", dependencies: [.product(name: "Trellis", package: "$(basename "$checkout")")])
  ])
EOF
cat > "$work/Sources/profile/main.swift" <<'EOF'
import Trellis

let repetitions = Int(CommandLine.arguments[1])!
let rates = try Benchmark.lstmGFLOPs(
  inputSize: 100, hiddenSize: 100, batch: 32, steps: 12, repetitions: repetitions)
print("BiLSTM forward \(rates.forward) GFLOP/s, backward \(rates.backward) GFLOP/s")
EOF
swift build -c release --package-path "$work" > "$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; exit 1; }
perf record -q -e cpu-clock -g -o "$work/perf.data" \
  "$work/.build/release/profile" "${REPETITIONS:-600}"
perf report -i "$work/perf.data" --no-children --sort sym -g none 2>/dev/null \
  | grep -v '^#' | grep '%' | head -25
