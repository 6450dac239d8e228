#!/usr/bin/env bash
# Where a training step loses time when the host puts the two CPUs apart (Eval/SPEED.md,
# session 57): builds a copy of the working tree's tracked files whose training step adds each
# stage's clock_gettime interval (the calling thread's view: building the batch, the embedding
# layer and its dropout, the encoder forward, the output layer forward, the head, the output
# layer backward and its dropout, the encoder backward, the embedding backward, the gradient's
# norm, the optimiser, zeroing the gradients; and each half of the optimiser's pass on its own
# thread), and counts the calls that found the pair's second thread asleep. Then ROUNDS (default 30) one-epoch ATIS
# trainings without character features, each between two runs of scripts/core-round-trip.c,
# and prints for each placement seen by both probes of a round the median of each figure
# (seconds an epoch), with the apart/shared ratio. The build takes a minute or two; nothing in
# the checkout changes.
#   [ROUNDS=30] scripts/time-stages-by-placement.sh [TRAIN.conll]
set -euo pipefail
train=$(realpath "${1:-$(make --no-print-directory -s atis-path)/train.conll}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work"
cc -O2 -pthread scripts/core-round-trip.c -o "$work/round-trip"
python3 - "$work/Sources/Trellis" <<'PY'
import sys
root = sys.argv[1]
STAGES = ["batch", "embedding", "encoder", "output", "head", "output back", "encoder back",
          "embedding back", "norm", "optimiser", "second thread woken (calls)",
          "optimiser, second thread's half", "optimiser, calling thread's half", "zeroing"]
open(root + "/Math/StageClock.swift", "w").write('''import Foundation

/// Seconds by stage, and counts (scripts/time-stages-by-placement.sh).
public enum StageClock {
  public static var totals = [Double](repeating: 0, count: 16)
  static var last: UInt64 = 0
  public static func now() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
  }
  public static func start() { last = now() }
  /// Adds the time since the last mark (or `start`) to stage `i`.
  public static func mark(_ i: Int) {
    let n = now()
    totals[i] += Double(n - last) * 1e-9
    last = n
  }
  public static func report() {
    FileHandle.standardError.write(
      Data(("STAGES " + totals.prefix(%d).map { String($0) }.joined(separator: " ") + "\\n").utf8))
  }
}
''' % len(STAGES))
# (file, anchor, replacement): each anchor must occur once.
patches = [
  ("Training/Trainer.swift", "      let batch = run.batch(indices)\n",
   "      StageClock.start()\n      let batch = run.batch(indices)\n      StageClock.mark(0)\n"),
  ("Training/Trainer.swift",
   "      run.update(gradientNorm: norm, learningRate: totals.learningRate)\n",
   "      run.update(gradientNorm: norm, learningRate: totals.learningRate)\n"
   "      StageClock.mark(9)\n"),
  ("Training/Trainer.swift",
   "    if let bestModel { try run.withSelectedParameters { try write(run, to: bestModel) } }\n",
   "    StageClock.report()\n"
   "    if let bestModel { try run.withSelectedParameters { try write(run, to: bestModel) } }\n"),
  ("Training/TrainingRun.swift",
   "    zeroFrozenGradients()\n    return (loss, model.store.gradientNorm(over: updatedRanges))\n",
   "    zeroFrozenGradients()\n    let norm = model.store.gradientNorm(over: updatedRanges)\n"
   "    StageClock.mark(8)\n    return (loss, norm)\n"),
  ("Training/TrainingRun.swift",
   "    if !gradientsAreZero { model.store.zeroGradients(in: updatedRanges) }\n",
   "    if !gradientsAreZero { model.store.zeroGradients(in: updatedRanges) }\n"
   "    StageClock.mark(13)\n"),
  ("Model/TaggerModel+Passes.swift",
   "    // Each stacked layer reads the one below's output, dropout applied as to the top's.\n",
   "    StageClock.mark(1)\n"
   "    // Each stacked layer reads the one below's output, dropout applied as to the top's.\n"),
  ("Model/TaggerModel+Passes.swift",
   "        input = .rows(UnsafePointer(layerOutput))\n      }\n",
   "        input = .rows(UnsafePointer(layerOutput))\n      }\n      StageClock.mark(2)\n"),
  ("Model/TaggerModel+Passes.swift",
   "        concurrently: ws.usesTwoThreads)\n    }\n  }\n",
   "        concurrently: ws.usesTwoThreads)\n      StageClock.mark(3)\n    }\n  }\n"),
  ("Model/TaggerModel+Passes.swift",
   "    let loss = headLossAndGradient(batch, workspace: ws, dEmissions: dE)\n",
   "    let loss = headLossAndGradient(batch, workspace: ws, dEmissions: dE)\n"
   "    StageClock.mark(4)\n"),
  ("Model/TaggerModel+Passes.swift", "    var dOutput = UnsafePointer(dHidden)\n",
   "    StageClock.mark(5)\n    var dOutput = UnsafePointer(dHidden)\n"),
  ("Model/TaggerModel+Passes.swift",
   "    embedding.backward(\n      batch, store: store, dx: ws.dx.pointer, workspace: ws.characters,\n"
   "      concurrently: ws.usesTwoThreads)\n",
   "    StageClock.mark(6)\n"
   "    embedding.backward(\n      batch, store: store, dx: ws.dx.pointer, workspace: ws.characters,\n"
   "      concurrently: ws.usesTwoThreads)\n    StageClock.mark(7)\n"),
  ("Math/ThreadPair.swift",
   "      if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }\n",
   "      if sleeping.exchange(false, ordering: .sequentiallyConsistent) {\n"
   "        StageClock.totals[10] += 1\n        wake.signal()\n      }\n"),
  # The slab's first half runs on the second thread (ParameterStore.half(onThread:)).
  ("Training/Optimizer.swift",
   "        store.inParts(of: ranges) { range in\n          let first = range.lowerBound\n",
   "        store.inParts(of: ranges) { range in\n          let started = StageClock.now()\n"
   "          defer {\n            StageClock.totals[range.lowerBound == 0 ? 11 : 12] +=\n"
   "              Double(StageClock.now() - started) * 1e-9\n          }\n"
   "          let first = range.lowerBound\n"),
]
for name, anchor, replacement in patches:
    path = root + "/" + name
    text = open(path).read()
    if text.count(anchor) != 1:
        sys.exit(f"{name} no longer reads as this script expects: {anchor.strip()[:60]}")
    open(path, "w").write(text.replace(anchor, replacement))
open(sys.argv[1] + "/../../stage-names", "w").write("\n".join(STAGES) + "\n")
PY
# TMPDIR inside the work folder: SwiftPM leaves its lock files for a package there.
TMPDIR="$work" swift build -c release --product trellis --package-path "$work" \
  --scratch-path "$work/.build" > "$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
for _ in $(seq "${ROUNDS:-30}"); do
  before=$("$work/round-trip" | awk '{print $2}')
  "$work/.build/release/trellis" train --train "$train" --model "$work/model" --epochs 1 \
    --seed 1 --character-filters 0 --quiet 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
  after=$("$work/round-trip" | awk '{print $2}')
  [ "$before" = "$after" ] && echo "$before $(grep '^STAGES ' "$work/err" | cut -d' ' -f2-)"
done > "$work/rounds"
python3 - "$work/rounds" "$work/stage-names" <<'PY'
import statistics, sys
names = open(sys.argv[2]).read().split("\n")[:-1]
rounds = {}
for line in open(sys.argv[1]):
    placement, *figures = line.split()
    rounds.setdefault(placement, []).append([float(f) for f in figures])
medians = {p: [statistics.median(r[i] for r in rs) for i in range(len(names))]
           for p, rs in rounds.items()}
print("stage, seconds an epoch (median)   " + "   ".join(
    f"{p} ({len(rounds[p])} rounds)" for p in sorted(medians)))
for i, name in enumerate(names):
    cells = [f"{medians[p][i]:>10.4f}" for p in sorted(medians)]
    ratio = (f"   {medians['apart'][i] / medians['shared'][i]:.2f}x"
             if set(medians) == {"apart", "shared"} and medians["shared"][i] else "")
    print(f"{name:<32}" + "   ".join(cells) + ratio)
PY
