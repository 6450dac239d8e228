#!/usr/bin/env python3
"""Trellis against the PyTorch reference (bilstm_crf.py), measured in one run: `make bench-peers`.

In order, on one otherwise idle machine:
  1. `trellis bench --json`: training tokens/s per system, in-process tagging tokens/s, peak
     memory while training;
  2. the whole `trellis tag` process (start-up, model load, reading, tagging, writing) on the
     test split repeated --copies times, with a model `trellis train` makes in a temporary
     directory (or --model): the bench's and the peer's architecture, so without character
     features; median of --repetitions runs, with its max RSS;
  3. bilstm_crf.py with this interpreter (the venv that has torch and pytorch-crf), once with
     each torch thread count of --threads (1 and this machine's cores by default);
  4. --paired-rounds rounds, each of a whole `trellis train --epochs 1`'s epoch, the peer's
     round with its faster thread count (one training epoch, then one batch-32 tagging of the
     training sentences with the model it trained) and a whole `trellis tag` process as in
     step 2: the median of the rounds' ratios, for training and for tagging, which a machine
     whose speed drifts over the minutes between steps 1 and 3 moves far less than the ratio
     of their figures. Before each round scripts/core-round-trip.c says whether the host had
     the two CPUs share a cache, which moves Trellis's two-thread training by 10-18%; the
     rounds' medians of each placement follow the table.
Then prints a table of every figure with the ratio Trellis/peer, and the same as JSON (also
written to --json FILE). Each peer figure is its best over the thread counts (fastest, least
memory; small ops often run faster on one thread), and the table says which count gave it.
Needs only the standard library itself.

    python Eval/peers/compare.py --trellis .build-static/release/trellis --corpus DIR
        [--copies 40] [--repetitions 3] [--threads 1,2] [--paired-rounds 5] [--json FILE]
"""

import argparse
import itertools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

PEERS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(PEERS))
from trellis_eval.machine import machine_info  # noqa: E402 (path set above)

# The figures compared: (label, Trellis key, peer key). Keys name fields of the two JSON
# objects; "training/NAME" looks inside training_tokens_per_second.
ROWS = [
    ("training BiLSTM-CRF, tokens/s", "training/bilstm+crf", "training/bilstm+crf"),
    ("training BiLSTM + softmax, tokens/s", "training/bilstm+softmax", "training/bilstm+softmax"),
    ("tagging in-process, batch 32, tokens/s", "tagging_tokens_per_second_batch32",
     "tagging_tokens_per_second_batch32"),
    ("tagging in-process, batch 1, tokens/s", "tagging_tokens_per_second_batch1",
     "tagging_tokens_per_second_batch1"),
    ("whole `trellis tag` process vs. peer batch 32, tokens/s", "tag_process_tokens_per_second",
     "tagging_tokens_per_second_batch32"),
    ("peak memory while training, MB (lower is better)", "peak_memory_megabytes",
     "peak_memory_megabytes"),
]
# The targets: Trellis/peer at least this much.
TARGETS = {"training/bilstm+crf": 10, "tag_process_tokens_per_second": 10}


def checked(command, capture=False):
    """Runs a command, echoing it; returns its output when `capture`; stops when it fails."""
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, stdout=subprocess.PIPE if capture else None,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"Error: {command[0]} exited with status {result.returncode}")
    return result.stdout


def repeated(source, copies, destination):
    """Writes `source` `copies` times into `destination`; returns its token count."""
    with open(source, encoding="utf-8") as f:
        text = f.read().rstrip("\n") + "\n\n"  # copies stay separate sentences
    with open(destination, "w", encoding="utf-8") as f:
        for _ in range(copies):
            f.write(text)
    lines = text.splitlines()
    tokens = sum(1 for line in lines if line.strip() and not line.startswith("-DOCSTART-"))
    return tokens * copies


def time_tag(trellis, model, big, output, tokens, repetitions):
    """Median tokens/s of whole `trellis tag` processes, and the largest max RSS (MB)."""
    rates, peak = [], 0.0
    for _ in range(repetitions):
        with open(output, "w", encoding="utf-8") as out:
            started = time.perf_counter()
            process = subprocess.Popen([trellis, "tag", "--model", model, big], stdout=out)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.exit(f"Error: trellis tag exited with status {process.returncode}")
        rates.append(tokens / seconds)
        peak = max(peak, usage.ru_maxrss / 1024)  # kilobytes on Linux
    check_tagged(big, output)
    return statistics.median(rates), peak


def check_tagged(source, output):
    """Stops unless every token line of `source` came back, in order, with one more column."""
    def token_lines(f):
        return (line.split() for line in f if line.strip())

    with open(source, encoding="utf-8") as f, open(output, encoding="utf-8") as g:
        pairs = itertools.zip_longest(token_lines(f), token_lines(g))
        for number, (fields, tagged) in enumerate(pairs, 1):
            if fields is None or tagged is None or tagged[:-1] != fields:
                sys.exit(f"Error: {output}: token line {number} is not that of {source} tagged")


def machine_seconds():
    """CPU-seconds all processes have used (busy) and lost to the hypervisor (steal) so far."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _, _, irq, softirq, steal = fields[:8]
    hertz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hertz, steal / hertz


def own_seconds():
    """CPU-seconds this process and its waited-for children have used."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def epoch_rate(trellis, corpus, model):
    """Tokens/s of one `trellis train` epoch of the bench's architecture (as its log line says)."""
    command = [trellis, "train", "--train", f"{corpus}/train.conll", "--model", model,
               "--epochs", "1", "--seed", "1", "--character-filters", "0"]
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, stderr=subprocess.PIPE, text=True)
    found = re.search(r"^epoch +1 .* (\d+) tokens/s", result.stderr, re.MULTILINE)
    if result.returncode != 0 or found is None:
        sys.exit(f"Error: trellis train exited with status {result.returncode}:\n{result.stderr}")
    return float(found.group(1))


def round_trip_probe(scratch):
    """scripts/core-round-trip.c built into `scratch`, or None without a C compiler: on a
    virtual machine it tells whether the host put the two CPUs where they share a cache, which
    moves Trellis's two-thread training by 10-18% (Eval/SPEED.md, session 53)."""
    source = os.path.join(os.path.dirname(os.path.dirname(PEERS)), "scripts",
                          "core-round-trip.c")
    probe = os.path.join(scratch, "round-trip")
    try:
        subprocess.run(["cc", "-O2", "-pthread", source, "-o", probe], check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"note: no placement probe ({error}); rounds are not told apart by it")
        return None
    return probe


def paired_rounds(args, scratch, threads, tagging, probe):
    """`args.paired_rounds` rounds of a Trellis epoch, the peer's round (an epoch, then a batch-32
    tagging with the model it trained) and a whole `trellis tag` process: each side's rates and
    the rounds' ratios, for training and for tagging, each with the peer's thread count for it
    (`threads`, by kind), and with `probe` each round's placement of the CPUs ("shared" a cache
    or "apart", in "placements" of both kinds). `tagging` holds time_tag's arguments after
    --repetitions' place: (model, big, output, tokens)."""
    model, big, output, tokens = tagging
    sides = {kind: {"trellis": [], "peer": [], "ratios": []} for kind in ("training", "tagging")}
    placements = []
    for _ in range(args.paired_rounds):
        if probe is not None:
            placements.append(checked([probe], capture=True).split()[1])
        mine = {"training": epoch_rate(args.trellis, args.corpus,
                                       os.path.join(scratch, "paired.model"))}
        theirs = json.loads(checked(
            [sys.executable, os.path.join(PEERS, "bilstm_crf.py"), "--corpus", args.corpus,
             "--threads", str(threads["training"]), "--tag-threads", str(threads["tagging"]),
             "--paired-round"], capture=True))
        theirs = {"training": theirs["training_tokens_per_second"]["bilstm+crf"],
                  "tagging": theirs["tagging_tokens_per_second_batch32"]}
        # Right after the peer's tagging, so that the two run in the same stretch.
        mine["tagging"] = time_tag(args.trellis, model, big, output, tokens, 1)[0]
        for kind, side in sides.items():
            side["trellis"].append(mine[kind])
            side["peer"].append(theirs[kind])
            side["ratios"].append(mine[kind] / theirs[kind])
    for side in sides.values():
        side["median_ratio"] = statistics.median(side["ratios"])
    for kind, side in sides.items():
        side["peer_threads"] = threads[kind]
        if placements:
            side["placements"] = placements
    return sides


def placement_lines(paired):
    """For each kind of paired round measured with the probe: the median ratio of the rounds
    whose CPUs shared a cache and of the others."""
    lines = []
    for kind, rounds in paired.items():
        if "placements" not in rounds:
            continue
        said = []
        for placement, words in (("shared", "with the CPUs sharing a cache"),
                                 ("apart", "without")):
            group = [r for r, p in zip(rounds["ratios"], rounds["placements"]) if p == placement]
            said.append(f"{len(group)} rounds {words}"
                        + (f", median {statistics.median(group):.2f}x" if group else ""))
        lines.append(f"{kind}, paired rounds by placement: " + "; ".join(said))
    return lines


def check_same_settings(trellis, peer):
    """Exits unless the peer trains with Trellis's defaults: the sizes and settings each side
    reports (`trellis bench --json`'s and the peer's `training_settings`)."""
    ours, theirs = trellis["training_settings"], peer["training_settings"]
    differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    if differ:
        sys.exit("Error: the peer does not train as Trellis does: " + ", ".join(
            f"{k} {theirs.get(k)} (Trellis {ours.get(k)})" for k in differ)
            + "; update Eval/peers/bilstm_crf.py")


def value(figures, key):
    if key.startswith("training/"):
        return figures["training_tokens_per_second"][key.partition("/")[2]]
    return figures[key]


def best(runs, key):
    """The peer's best figure over its runs (thread count -> figures), and that thread count."""
    pick = min if key == "peak_memory_megabytes" else max
    threads = pick(runs, key=lambda t: value(runs[t], key))
    return value(runs[threads], key), threads


def table(trellis, runs, paired=None):
    """The comparison rows, as text lines and as JSON-ready dictionaries; each paired-rounds row
    (when `paired`) right after the row of the same figure measured apart."""
    lines = [f"{'':58}{'Trellis':>10}{'PyTorch':>10} threads{'Trellis/peer':>14}  target"]
    rows = []
    for label, mine, theirs in ROWS:
        a, (b, threads) = value(trellis, mine), best(runs, theirs)
        target = TARGETS.get(mine)
        met = target is not None and a / b >= target
        verdict = "" if target is None else f">= {target}x: {'met' if met else 'NOT met'}"
        lines.append(f"{label:58}{a:10,.0f}{b:10,.0f}{threads:>8}{a / b:13.2f}x  {verdict}")
        rows.append({"figure": label, "trellis": a, "peer": b, "peer_threads": threads,
                     "ratio": a / b, "target": target,
                     "target_met": None if target is None else met})
        for paired_label, kind, target_key in PAIRED_ROWS:
            if paired and target_key == mine:
                line, row = paired_row(paired, paired_label, kind, target_key)
                lines.append(line)
                rows.append(row)
    return lines, rows


# The paired rounds' rows: (label, the rounds' key, the target's key in TARGETS), each placed
# after the row of the same figure measured apart.
PAIRED_ROWS = [
    ("training BiLSTM-CRF, {n} paired rounds (median ratio)", "training", "training/bilstm+crf"),
    ("whole `trellis tag` vs. peer batch 32, {n} paired rounds", "tagging",
     "tag_process_tokens_per_second"),
]


def paired_row(paired, label, kind, target_key):
    """One kind of the paired rounds as a table line and a row: medians of each side, median
    ratio, and every round's ratio."""
    rounds = paired[kind]
    label = label.format(n=len(rounds["ratios"]))
    a, b = statistics.median(rounds["trellis"]), statistics.median(rounds["peer"])
    ratio, target = rounds["median_ratio"], TARGETS[target_key]
    verdict = f">= {target}x: {'met' if ratio >= target else 'NOT met'}"
    line = (f"{label:58}{a:10,.0f}{b:10,.0f}{rounds['peer_threads']:>8}{ratio:13.2f}x  "
            f"{verdict}  (rounds: {', '.join(f'{r:.2f}' for r in rounds['ratios'])})")
    return line, {"figure": label, "trellis": a, "peer": b,
                  "peer_threads": rounds["peer_threads"], "ratio": ratio, "target": target,
                  "target_met": ratio >= target, "round_ratios": rounds["ratios"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trellis", required=True, help="the release binary")
    parser.add_argument("--corpus", required=True, help="directory with {train,dev,test}.conll")
    parser.add_argument("--model", help="tag with this model instead of training one")
    parser.add_argument("--copies", type=int, default=40, help="test split copies to tag")
    parser.add_argument("--repetitions", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}",
                        help="torch thread counts to run the peer with, comma-separated")
    parser.add_argument("--paired-rounds", type=int, default=5,
                        help="rounds of a Trellis and a peer training epoch back to back (0: none)")
    parser.add_argument("--json", help="also write the JSON result here")
    args = parser.parse_args()
    if args.copies < 1 or args.repetitions < 1 or args.paired_rounds < 0:
        sys.exit("Error: --copies and --repetitions must be at least 1, --paired-rounds at least 0")
    corpus = args.corpus
    # Other processes' CPU time during the run says whether the machine was quiet enough.
    started, (busy, steal) = time.monotonic(), machine_seconds()

    with tempfile.TemporaryDirectory(prefix="trellis-peers-") as scratch:
        bench_json = os.path.join(scratch, "bench.json")
        checked([args.trellis, "bench", "--corpus", corpus, "--repetitions",
                 str(args.repetitions), "--json", bench_json])
        with open(bench_json, encoding="utf-8") as f:
            trellis = json.load(f)

        model = args.model
        if model is None:
            model = os.path.join(scratch, "peers.model")
            checked([args.trellis, "train", "--train", f"{corpus}/train.conll", "--dev",
                     f"{corpus}/dev.conll", "--model", model, "--epochs", "2", "--seed", "1",
                     "--character-filters", "0", "--quiet"])
        big = os.path.join(scratch, "test-x%d.conll" % args.copies)
        tokens = repeated(f"{corpus}/test.conll", args.copies, big)
        rate, rss = time_tag(args.trellis, model, big, os.path.join(scratch, "tagged.conll"),
                             tokens, args.repetitions)
        trellis.update(tag_process_tokens=tokens, tag_process_tokens_per_second=rate,
                       tag_process_peak_memory_megabytes=rss)
        print(f"\nwhole `trellis tag` process: {tokens} tokens ({args.copies} x test), "
              f"{rate:,.0f} tokens/s, max RSS {rss:.0f} MB")

        runs = {}
        for threads in sorted({int(t) for t in args.threads.split(",")}):
            runs[threads] = json.loads(checked(
                [sys.executable, os.path.join(PEERS, "bilstm_crf.py"), "--corpus", corpus,
                 "--threads", str(threads), "--repetitions", str(args.repetitions)],
                capture=True))
            print(json.dumps(runs[threads], sort_keys=True))
            check_same_settings(trellis, runs[threads])
        paired = None
        if args.paired_rounds:
            # Each side of the peer's round on the thread count it did best with apart.
            threads = {"training": best(runs, "training/bilstm+crf")[1],
                       "tagging": best(runs, "tagging_tokens_per_second_batch32")[1]}
            paired = paired_rounds(args, scratch, threads,
                                   (model, big, os.path.join(scratch, "tagged.conll"), tokens),
                                   round_trip_probe(scratch))
            print(json.dumps(paired, sort_keys=True))
    peer = next(iter(runs.values()))
    wall, (busy_end, steal_end) = time.monotonic() - started, machine_seconds()
    others = max(0.0, busy_end - busy - own_seconds())
    quiet = {"seconds": wall, "other_processes_cpu_seconds": others,
             "steal_cpu_seconds": steal_end - steal}

    machine = machine_info()
    lines, rows = table(trellis, runs, paired)
    result = {"machine": machine, "corpus": corpus, "repetitions": args.repetitions,
              "interference": quiet,
              "comparison": rows, "trellis": trellis,
              "peer": {str(threads): figures for threads, figures in runs.items()},
              "paired_rounds": paired}
    text = json.dumps(result, sort_keys=True)
    print("\n" + text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    # The table last, so that it is what a terminal shows at the end.
    print(f"\nmachine: {machine.get('cpu_model')}, {machine['nproc']} cores, "
          f"{machine.get('memory_gib')} GiB; Trellis OpenBLAS core {trellis['blas_core']}; "
          f"PyTorch {peer['torch']} ({peer['torch_blas']}); "
          f"corpus {corpus}; median of {args.repetitions}")
    share = others / (wall * machine["nproc"])
    print(f"other processes used {others:.1f} CPU-seconds during the {wall:.0f} s run "
          f"({100 * share:.1f}% of the machine), steal {steal_end - steal:.1f} s"
          + ("; NOT a quiet machine: the figures are low, run again" if share > 0.05 else ""))
    print("\n".join(lines + (placement_lines(paired) if paired else [])))


if __name__ == "__main__":
    main()
