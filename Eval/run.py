#!/usr/bin/env python3
"""The slot-tagging comparison: every system in Eval/systems/*.json x seeds on one corpus.

For each system and seed it trains with `trellis train --log`, tags the test file (timed),
scores it with `trellis eval --json`, counts invalid BIO outputs, reads the parameter count
from the model file's header and the best-dev epoch from the log, and stores

    Eval/logs/<corpus>/<system>-seed<N>.jsonl       the training log (kept: plots come from it)
    Eval/results/<corpus>/<system>-seed<N>.json     the run's numbers
    Eval/results/<corpus>/<system>-seed<N>.pred.gz  predicted test labels (one per line, blank
                                                    line between sentences) for significance tests
    Eval/results/<corpus>/meta.json                 machine, commit, command of the last run

and then writes the report (Eval/RESULTS.md for ATIS, Eval/RESULTS-<corpus>.md otherwise) and,
when matplotlib can be imported, the plots in Eval/plots/. Models and full tagger output go to
Eval/runs/ (git-ignored). It also runs the exploding-gradient experiment of Eval/exploding.json
on the synthetic corpus (logs in Eval/logs/exploding/).

    python3 Eval/run.py [--corpus DIR] [--seeds N] [--quick]    train, evaluate, report
    python3 Eval/run.py --report-only [--corpus DIR]              report + plots from kept files

Running needs only the Python 3 standard library; plots need matplotlib (`make plots`).
At most two trellis processes run at once: a bidirectional encoder uses both cores (one thread
per direction), so it runs alone; unidirectional ones use one core and run two at a time.
"""

import argparse
import array
import collections
import ctypes
import datetime
import glob
import gzip
import hashlib
import itertools
import json
import math
import operator
import os
import platform
import random
import shlex
import statistics
import struct
import subprocess
import sys
import threading
import time

EVAL = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(EVAL)
DEFAULT_BIN = os.path.join(ROOT, ".build", "release", "trellis")
QUICK_FLAGS = ["--embedding-size", "32", "--hidden-size", "32"]
QUICK_EPOCHS = 2
BOOTSTRAP_RESAMPLES = 10000
BOOTSTRAP_SEED = 20240601
MAX_CORES = 2  # never more than two trellis processes at once


# ----------------------------------------------------------------------------- small helpers

def rel(path):
    return os.path.relpath(path, ROOT)


def write_atomically(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, mode) as f:
        f.write(data)
    os.replace(temporary, path)


def write_json(path, obj):
    write_atomically(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_jsonl(path):
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line cut short by a crash
    return records


def split_log(records):
    """(epoch records, step records) of a `trellis train --log [--log-steps]` file."""
    return [r for r in records if "step" not in r], [r for r in records if "step" in r]


def read_conll_labels(path):
    """Sentences as lists of last-column labels (tokens are not needed)."""
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            current.append(line.split("\t")[-1] if "\t" in line else line.split()[-1])
    if current:
        sentences.append(current)
    return sentences


def read_predictions(path):
    sentences, current = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if current:
                    sentences.append(current)
                current = []
            else:
                current.append(line)
    if current:
        sentences.append(current)
    return sentences


def write_predictions(path, sentences):
    text = "".join("".join(label + "\n" for label in s) + "\n" for s in sentences)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as raw:
        # mtime 0 and no file name: the same predictions give the same bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(text.encode("utf-8"))
    os.replace(temporary, path)


def model_header(path):
    """The JSON header of a Trellis model file: 8-byte magic, uint32 version, uint32 length."""
    with open(path, "rb") as f:
        head = f.read(16)
        if len(head) < 16 or head[:8] != b"TRELLIS\0":
            raise ValueError(f"{path}: not a Trellis model file")
        _version, length = struct.unpack("<II", head[8:16])
        return json.loads(f.read(length))


def parameter_count(path):
    return sum(slot["rows"] * slot["columns"] for slot in model_header(path)["slots"])


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def error_lines(stderr):
    """The lines of a failed command's stderr that say what went wrong."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines)[-3:]


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


# ----------------------------------------------------------------------------- conlleval

def split_label(label):
    if label == "O":
        return "O", ""
    tag, _, kind = label.partition("-")
    return (tag, kind) if kind else (label, "")


def _end_of_chunk(prev_tag, tag, prev_type, kind):
    return (prev_tag in ("E", "S")
            or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
            or (prev_tag not in ("O", ".") and prev_type != kind))


def _start_of_chunk(prev_tag, tag, prev_type, kind):
    return (tag in ("B", "S")
            or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
            or (tag not in ("O", ".") and prev_type != kind))


def chunk_counts(gold, guessed):
    """conlleval's (correct chunks, guessed chunks, gold chunks) for one sentence."""
    correct = found_guessed = found_gold = 0
    in_correct = False
    last_gold, last_guess = ("O", ""), ("O", "")
    for g_label, p_label in list(zip(gold, guessed)) + [("O", "O")]:
        g, p = split_label(g_label), split_label(p_label)
        if in_correct:
            g_end = _end_of_chunk(last_gold[0], g[0], last_gold[1], g[1])
            p_end = _end_of_chunk(last_guess[0], p[0], last_guess[1], p[1])
            if g_end and p_end and last_gold[1] == last_guess[1]:
                in_correct = False
                correct += 1
            elif g_end != p_end or g[1] != p[1]:
                in_correct = False
        g_start = _start_of_chunk(last_gold[0], g[0], last_gold[1], g[1])
        p_start = _start_of_chunk(last_guess[0], p[0], last_guess[1], p[1])
        if g_start and p_start and g[1] == p[1]:
            in_correct = True
        found_gold += g_start
        found_guessed += p_start
        last_gold, last_guess = g, p
    return correct, found_guessed, found_gold


def f1_of(correct, found, gold):
    return 200.0 * correct / (found + gold) if found + gold else 0.0


def invalid_bio(sentences):
    """I-X after O, after another type, or at sentence start, in predicted label sequences."""
    counts = {"sentences": 0, "transitions": 0, "after_o": 0, "after_other_type": 0, "at_start": 0}
    for labels in sentences:
        bad = 0
        previous = None
        for label in labels:
            tag, kind = split_label(label)
            if tag == "I":
                if previous is None:
                    counts["at_start"] += 1
                    bad += 1
                elif previous[0] == "O":
                    counts["after_o"] += 1
                    bad += 1
                elif previous[1] != kind:
                    counts["after_other_type"] += 1
                    bad += 1
            previous = (tag, kind)
        counts["transitions"] += bad
        counts["sentences"] += bad > 0
    return counts


# ----------------------------------------------------------------------------- machine

def machine_info():
    info = {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            fields = {}
            for line in f:
                if ":" in line:
                    key, _, value = line.partition(":")
                    fields.setdefault(key.strip(), value.strip())
        info["cpu_model"] = fields.get("model name")
        info["cpu_family_model"] = f"family {fields.get('cpu family')} model {fields.get('model')}"
        flags = fields.get("flags", "").split()
        info["cpu_simd"] = " ".join(f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags)
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        blas = ctypes.CDLL("libopenblas.so.0")
        blas.openblas_get_corename.restype = ctypes.c_char_p
        blas.openblas_get_config.restype = ctypes.c_char_p
        info["openblas_core"] = blas.openblas_get_corename().decode()
        info["openblas_config"] = blas.openblas_get_config().decode()
        if os.environ.get("OPENBLAS_CORETYPE"):
            info["openblas_coretype_env"] = os.environ["OPENBLAS_CORETYPE"]
            # What OpenBLAS picks by itself on this CPU, for comparison.
            env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
            native = subprocess.run(
                [sys.executable, "-c", "import ctypes; b = ctypes.CDLL('libopenblas.so.0'); "
                 "b.openblas_get_corename.restype = ctypes.c_char_p; print(b.openblas_get_corename().decode())"],
                env=env, capture_output=True, text=True, timeout=60)
            info["openblas_core_native"] = native.stdout.strip() or "unknown"
    except (OSError, AttributeError):
        info["openblas_core"] = "unknown (libopenblas.so.0 not loadable)"
    info["os"] = platform.platform()
    info["python"] = platform.python_version()
    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True, timeout=60)
        info["swift"] = (swift.stdout or swift.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return info


def git_info():
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD").strip(),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD").strip(),
            "modified_files": [line[3:] for line in status.splitlines() if len(line) > 3]}


# ----------------------------------------------------------------------------- configuration

def load_systems(names=None):
    systems = []
    for path in sorted(glob.glob(os.path.join(EVAL, "systems", "*.json"))):
        config = read_json(path)
        config["name"] = os.path.splitext(os.path.basename(path))[0]
        systems.append(config)
    if names:
        wanted = set(names)
        unknown = wanted - {s["name"] for s in systems}
        if unknown:
            sys.exit(f"unknown system(s): {', '.join(sorted(unknown))}")
        systems = [s for s in systems if s["name"] in wanted]
    # The order of the configs' "order" fields (baseline first), then by name.
    systems.sort(key=lambda s: (s.get("order", 99), s["name"]))
    return systems


def encoder_of(flags):
    return flags[flags.index("--encoder") + 1] if "--encoder" in flags else "bilstm"


def uses_both_cores(flags):
    return encoder_of(flags).startswith("bi")


def corpus_key(corpus, quick, name=None):
    key = name or os.path.basename(os.path.normpath(corpus))
    return f"{key}-quick" if quick and not key.endswith("-quick") else key


def report_path(key):
    return os.path.join(EVAL, "RESULTS.md" if key == "atis" else f"RESULTS-{key}.md")


# ----------------------------------------------------------------------------- the scheduler

class Pool:
    """Runs jobs on threads so that the cores they claim never exceed MAX_CORES."""

    def __init__(self, cores):
        self.cores = cores
        self.free = cores
        self.condition = threading.Condition()
        self.pending = []
        self.running = 0
        self.errors = []

    def add(self, cores, function, label):
        self.pending.append((min(cores, self.cores), function, label))

    def run(self):
        threads = []
        with self.condition:
            while self.pending or self.running:
                started = False
                for i, (cores, function, label) in enumerate(self.pending):
                    if cores <= self.free:
                        self.pending.pop(i)
                        others = self.cores - self.free
                        self.free -= cores
                        self.running += 1
                        thread = threading.Thread(target=self._work, args=(cores, function, label, others))
                        thread.start()
                        threads.append(thread)
                        started = True
                        break
                if not started:
                    self.condition.wait()
        for thread in threads:
            thread.join()

    def _work(self, cores, function, label, others):
        try:
            function(busy_cores=others)
        except Exception as error:  # a bug in one run must not hang the others
            self.errors.append(f"{label}: {error!r}")
            print(f"error in {label}: {error!r}", flush=True)
        finally:
            with self.condition:
                self.free += cores
                self.running -= 1
                self.condition.notify_all()


# ----------------------------------------------------------------------------- one run

class Runner:
    def __init__(self, args):
        self.args = args
        self.binary = os.path.abspath(args.bin)
        self.quick = args.quick
        self.corpus = args.corpus
        self.key = corpus_key(args.corpus, args.quick, args.name)
        self.seeds = 1 if args.quick else args.seeds
        self.lock = threading.Lock()
        self.failures = []
        self.done = 0
        self.total = 0
        self.started = time.monotonic()
        self.test_sentences = read_conll_labels(os.path.join(self.corpus, "test.conll"))
        self.test_tokens = sum(len(s) for s in self.test_sentences)
        self.binary_sha = sha256(self.binary)

    def log(self, message):
        elapsed = time.monotonic() - self.started
        with self.lock:
            print(f"[{int(elapsed) // 60:2d}:{int(elapsed) % 60:02d}] {message}", flush=True)

    def train_command(self, flags, epochs, seed, model, log, corpus=None):
        corpus = corpus or self.corpus
        command = [self.binary, "train", "--train", os.path.join(corpus, "train.conll"),
                   "--dev", os.path.join(corpus, "dev.conll"), "--model", model,
                   "--seed", str(seed), "--epochs", str(epochs), "--log", log]
        return command + list(flags)

    def run_system(self, system, seed, busy_cores=0):
        name = f"{system['name']}-seed{seed}"
        flags = list(system["flags"]) + (QUICK_FLAGS if self.quick else [])
        epochs = self.args.epochs or (QUICK_EPOCHS if self.quick else system.get("epochs", 30))
        runs = os.path.join(EVAL, "runs", self.key)
        logs = os.path.join(EVAL, "logs", self.key)
        results = os.path.join(EVAL, "results", self.key)
        for directory in (runs, logs, results):
            os.makedirs(directory, exist_ok=True)
        model = os.path.join(runs, f"{name}.model")
        log = os.path.join(logs, f"{name}.jsonl")
        command = self.train_command(flags, epochs, seed, model, log)
        printable = [rel(c) if os.path.isabs(c) else c for c in command]
        printable[0] = "trellis"
        result = {"system": system["name"], "seed": seed, "corpus": self.key,
                  "corpus_path": self.corpus, "flags": flags, "epochs_max": epochs,
                  "train_command": " ".join(shlex.quote(c) for c in printable),
                  "binary_sha256": self.binary_sha, "git_commit": self.args.git["commit"],
                  "cores": 2 if uses_both_cores(flags) else 1,
                  "ran_alongside_another_run": busy_cores > 0,
                  "started": datetime.datetime.now().isoformat(timespec="seconds"),
                  "load_average_at_start": os.getloadavg()[0]}
        self.log(f"start {name}" + (" (alongside another run)" if busy_cores else ""))

        begin = time.monotonic()
        train = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        result["train_wall_seconds"] = time.monotonic() - begin
        result["load_average_after_training"] = os.getloadavg()[0]
        with open(os.path.join(runs, f"{name}.train.stderr"), "w") as f:
            f.write(train.stderr)
        if train.returncode != 0 or not os.path.exists(model):
            result["status"] = "failed"
            result["error"] = error_lines(train.stderr)
            write_json(os.path.join(results, f"{name}.json"), result)
            self.failures.append(name)
            self.finish(f"{name}: TRAINING FAILED (exit {train.returncode}): "
                        + " | ".join(result["error"]))
            return

        epochs_log, _ = split_log(read_jsonl(log))
        best = [r for r in epochs_log if r.get("is_best")]
        result["epochs_run"] = len(epochs_log)
        result["best_epoch"] = best[-1]["epoch"] if best else None
        result["best_dev_f1"] = best[-1].get("dev_f1") if best else None
        result["train_tokens_per_second"] = (
            statistics.fmean(r["tokens_per_second"] for r in epochs_log) if epochs_log else None)
        result["train_epoch_seconds_sum"] = sum(r["seconds"] for r in epochs_log)
        result["parameters"] = parameter_count(model)

        tagged_path = os.path.join(runs, f"{name}.tagged")
        begin = time.monotonic()
        with open(tagged_path, "w") as out:
            tag = subprocess.run([self.binary, "tag", "--model", model,
                                  os.path.join(self.corpus, "test.conll")],
                                 cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True)
        result["tag_wall_seconds"] = time.monotonic() - begin
        if tag.returncode != 0:
            result["status"] = "failed"
            result["error"] = ["tag: " + line for line in error_lines(tag.stderr)]
            write_json(os.path.join(results, f"{name}.json"), result)
            self.failures.append(name)
            self.finish(f"{name}: TAGGING FAILED: " + " | ".join(result["error"]))
            return
        result["tag_tokens"] = self.test_tokens
        result["tag_tokens_per_second"] = self.test_tokens / result["tag_wall_seconds"]
        predicted = read_conll_labels(tagged_path)
        write_predictions(os.path.join(results, f"{name}.pred.gz"), predicted)

        scored = subprocess.run([self.binary, "eval", "--model", model, "--test",
                                 os.path.join(self.corpus, "test.conll"), "--json"],
                                cwd=ROOT, capture_output=True, text=True)
        if scored.returncode != 0:
            result["status"] = "failed"
            result["error"] = ["eval: " + line for line in error_lines(scored.stderr)]
            write_json(os.path.join(results, f"{name}.json"), result)
            self.failures.append(name)
            self.finish(f"{name}: EVAL FAILED: " + " | ".join(result["error"]))
            return
        result["test"] = json.loads(scored.stdout)
        result["invalid_bio"] = invalid_bio(predicted)
        # Our own conlleval over the tagged output must agree with `trellis eval`.
        totals = [sum(c) for c in zip(*(chunk_counts(g, p)
                                         for g, p in zip(self.test_sentences, predicted)))]
        agrees = (len(predicted) == len(self.test_sentences) and totals ==
                  [result["test"]["correct"], result["test"]["found"], result["test"]["phrases"]])
        result["python_conlleval_agrees"] = agrees
        result["status"] = "ok"
        result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_json(os.path.join(results, f"{name}.json"), result)
        self.finish(
            f"{name}: test FB1 {result['test']['f1']:.2f}  dev {result['best_dev_f1'] or 0:.2f} "
            f"(best epoch {result['best_epoch']}/{result['epochs_run']})  "
            f"train {result['train_wall_seconds']:.1f} s  "
            f"{result['train_tokens_per_second']:.0f} tok/s  tag {result['tag_tokens_per_second']:.0f} tok/s"
            f"  invalid BIO {result['invalid_bio']['transitions']}"
            + ("" if agrees else "  WARNING: Python conlleval disagrees with trellis eval"))

    def run_exploding(self, run, extra_flags, busy_cores=0):
        config = read_json(os.path.join(EVAL, "exploding.json"))
        key = "exploding-quick" if self.quick else "exploding"
        logs = os.path.join(EVAL, "logs", key)
        runs = os.path.join(EVAL, "runs", key)
        os.makedirs(logs, exist_ok=True)
        os.makedirs(runs, exist_ok=True)
        log = os.path.join(logs, f"{run}.jsonl")
        command = self.train_command(config["flags"] + extra_flags, config["epochs"], config["seed"],
                                     os.path.join(runs, f"{run}.model"), log, corpus=config["corpus"])
        self.log(f"start exploding-gradient run {run}")
        begin = time.monotonic()
        process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.monotonic() - begin
        printable = [rel(c) if os.path.isabs(c) else c for c in command]
        printable[0] = "trellis"
        summary = {"run": run, "exit_status": process.returncode, "wall_seconds": seconds,
                   "train_command": " ".join(shlex.quote(c) for c in printable),
                   "stderr_tail": process.stderr.strip().splitlines()[-2:]}
        write_json(os.path.join(EVAL, "results", key, f"{run}.json"), summary)
        epochs_log, steps = split_log(read_jsonl(log))
        norms = [s["gradient_norm"] for s in steps if math.isfinite(s["gradient_norm"])]
        self.finish(f"exploding {run}: exit {process.returncode}, {len(epochs_log)} epochs, "
                    f"max gradient norm {max(norms, default=float('nan')):.0f}, "
                    f"last loss {epochs_log[-1]['loss'] if epochs_log else float('nan'):.2f}")

    def finish(self, message):
        with self.lock:
            self.done += 1
            done = self.done
        self.log(f"[{done}/{self.total}] {message}")


def run_all(args):
    runner = Runner(args)
    systems = load_systems(args.systems)
    pool = Pool(min(args.jobs, MAX_CORES))
    if not args.skip_exploding:
        config = read_json(os.path.join(EVAL, "exploding.json"))
        for run, extra in config["runs"].items():
            pool.add(1, lambda busy_cores, r=run, e=extra: runner.run_exploding(r, e, busy_cores),
                     f"exploding {run}")
    if not args.only_exploding:
        # Results of earlier runs that this one does not redo would mix into the report: remove
        # them (all of this corpus's, or only the named systems' with --systems).
        stale = []
        for name in ([s["name"] for s in systems] if args.systems else ["*"]):
            for pattern in (f"results/{runner.key}/{name}-seed*.json", f"results/{runner.key}/{name}-seed*.pred.gz",
                            f"logs/{runner.key}/{name}-seed*.jsonl"):
                stale += glob.glob(os.path.join(EVAL, pattern))
        for path in stale:
            os.remove(path)
        for seed in range(1, runner.seeds + 1):
            for system in systems:
                pool.add(2 if uses_both_cores(system["flags"]) else 1,
                         lambda busy_cores, s=system, n=seed: runner.run_system(s, n, busy_cores),
                         f"{system['name']} seed {seed}")
    runner.total = len(pool.pending)
    runner.log(f"{runner.total} runs on {runner.key} ({args.corpus}), {runner.seeds} seed(s), "
               f"binary {rel(runner.binary)} sha256 {runner.binary_sha[:12]}")
    pool.run()
    total_seconds = time.monotonic() - runner.started
    if not args.only_exploding:
        meta = {"corpus": runner.key, "corpus_path": args.corpus, "seeds": runner.seeds,
                "quick": args.quick, "systems": [s["name"] for s in systems],
                "command": args.command or "python3 " + " ".join(shlex.quote(a) for a in sys.argv),
                "machine": machine_info(), "git": args.git, "binary": rel(runner.binary),
                "binary_sha256": runner.binary_sha, "total_wall_seconds": total_seconds,
                "max_parallel_cores": pool.cores,
                "finished": datetime.datetime.now().isoformat(timespec="seconds")}
        write_json(os.path.join(EVAL, "results", runner.key, "meta.json"), meta)
    runner.log(f"all runs done in {total_seconds / 60:.1f} min")
    if pool.errors:
        print("errors:\n  " + "\n  ".join(pool.errors), flush=True)
    if runner.failures:
        print(f"{len(runner.failures)} run(s) failed: {', '.join(runner.failures)}", flush=True)
    return runner.key, not pool.errors and not runner.failures


# ----------------------------------------------------------------------------- the report

def load_results(key):
    directory = os.path.join(EVAL, "results", key)
    results = collections.defaultdict(dict)
    for path in glob.glob(os.path.join(directory, "*-seed*.json")):
        r = read_json(path)
        results[r["system"]][r["seed"]] = r
    return results


def bootstrap(gold, predictions, baseline, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """Paired bootstrap over test sentences of every system against `baseline`.

    `predictions[name]` is a list of runs (one per seed), each a list of label sequences. A
    system's chunk counts are summed over its runs sentence by sentence, so a resample scores
    all seeds on the same sentences. Returns ({name: (delta, p, ci_low, ci_high)}, {name: FB1});
    the p-value is two-sided: the share of resamples whose delta lies at least |delta| away
    from the observed delta (the bootstrap distribution shifted to the null), add-one smoothed.
    Every call with the same `seed` and sentence count draws the same resamples.
    """
    names = list(predictions)
    n = len(gold)
    columns = []  # per system: (correct, guessed, gold) chunk counts per sentence, packed
    largest = 1
    for name in names:
        counts = [[0] * n, [0] * n, [0] * n]
        for run in predictions[name]:
            for i, (g, p) in enumerate(zip(gold, run)):
                for k, value in enumerate(chunk_counts(g, p)):
                    counts[k][i] += value
        columns.append(counts)
        largest = max([largest] + [max(column, default=0) for column in counts])
    # One integer per sentence, correct << 2·bits | guessed << bits | gold, so that a resample
    # costs one C-level sum per system; `bits` holds any sum of n sentences' counts.
    bits = (n * largest).bit_length() + 1
    mask = (1 << bits) - 1
    packed = [[(c << 2 * bits) | (f << bits) | g for c, f, g in zip(*counts)] for counts in columns]

    def f1s(pick):
        scores = []
        for column in packed:
            total = sum(pick(column))
            scores.append(f1_of(total >> 2 * bits, (total >> bits) & mask, total & mask))
        return scores

    observed = f1s(lambda column: column)
    b = names.index(baseline)
    rng = random.Random(seed)
    deltas = [[] for _ in names]
    for _ in range(resamples):
        # n uniform indices in C-speed loops: 32-bit random words modulo n (bias < n / 2^32).
        words = array.array("I", rng.randbytes(4 * n))
        if words.itemsize != 4:
            words = array.array("L", rng.randbytes(8 * n))
        pick = operator.itemgetter(*map(operator.mod, words, itertools.repeat(n)))
        scores = f1s(pick)
        for s in range(len(names)):
            deltas[s].append(scores[s] - scores[b])
    out = {}
    for s, name in enumerate(names):
        delta = observed[s] - observed[b]
        extreme = sum(abs(d - delta) >= abs(delta) for d in deltas[s])
        ordered = sorted(deltas[s])
        out[name] = (delta, (extreme + 1) / (resamples + 1),
                     ordered[int(0.025 * resamples)], ordered[int(0.975 * resamples) - 1])
    return out, dict(zip(names, observed))


def fmt(mean, std, digits=2, scale=1.0, integers=False):
    """mean ± std; with `integers`, whole numbers without decimals (counts, epochs)."""
    if mean is None:
        return "–"
    if integers and float(mean).is_integer() and not std:
        return f"{mean:.0f}"
    if std is None or std == 0:
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def fmt_int(mean, std):
    if mean is None:
        return "–"
    return f"{mean:,.0f}" if not std else f"{mean:,.0f} ± {std:,.0f}"


def exploding_summary(key):
    directory = os.path.join(EVAL, "logs", key)
    config = read_json(os.path.join(EVAL, "exploding.json"))
    rows = []
    for run in config["runs"]:
        path = os.path.join(directory, f"{run}.jsonl")
        if not os.path.exists(path):
            continue
        epochs, steps = split_log(read_jsonl(path))
        norms = [s["gradient_norm"] for s in steps]
        finite = [x for x in norms if math.isfinite(x)]
        summary_path = os.path.join(EVAL, "results", key, f"{run}.json")
        summary = read_json(summary_path) if os.path.exists(summary_path) else {}
        rows.append({
            "run": run, "flags": " ".join(config["runs"][run]), "epochs": len(epochs),
            "steps": len(steps), "max_norm": max(finite, default=float("nan")),
            "median_norm": statistics.median(finite) if finite else float("nan"),
            "over_100": sum(x > 100 for x in finite), "non_finite": len(norms) - len(finite),
            "first_loss": epochs[0]["loss"] if epochs else float("nan"),
            "last_loss": epochs[-1]["loss"] if epochs else float("nan"),
            "best_dev": max((e.get("dev_f1") or 0 for e in epochs), default=float("nan")),
            "skipped": sum(e.get("skipped_batches", 0) for e in epochs),
            "exit": summary.get("exit_status"),
            "command": summary.get("train_command")})
    return config, rows


PUBLISHED = """\
## Published ATIS numbers (for orientation only)

These are **published** slot-filling F1 scores from the literature, **not** results of this
evaluation and **not one-to-one comparable** with the table above: most were measured on the
original ATIS split (4,978 training sentences, dev taken from them, 893 test sentences) with
each paper's own preprocessing (e.g. digit normalisation, named-entity features), label set,
and model selection; some report the best of several runs rather than a mean. Only the
Goo et al. (2018) rows use the same SlotGated-SLU split as this corpus. Each number below was
confirmed in the source named next to it; where that source is not the paper itself it is said.

| Model (paper) | Slot F1 | Split | Confirmed in |
|---|---|---|---|
| Elman RNN, single model, context window 9 — Mesnil et al., *Using Recurrent Neural Networks for Slot Filling in Spoken Language Understanding*, IEEE/ACM TASLP 2015 (Table 3) | 94.98 | original | quoted from Table 3 in lisa-lab/DeepLearningTutorials issue #144 |
| Simple RNN — Yao et al., *Recurrent Neural Networks for Language Understanding*, Interspeech 2013 | 94.11 | original | summary table in github.com/ZhenwenZhang/Slot_Filling (README) |
| LSTM — Yao et al., *Spoken Language Understanding Using Long Short-Term Memory Neural Networks*, IEEE SLT 2014 | 94.85 | original | same summary table ("LSTM, SLT Workshop 2014") |
| Deep LSTM — Yao et al., SLT 2014 (same paper) | 95.08 | original | same summary table |
| Encoder-labeler deep LSTM — Kurata et al., *Leveraging Sentence-level Information with Encoder LSTM for Semantic Slot Filling*, EMNLP 2016 | 95.66 | original | the paper's abstract (arXiv 1601.01530) |
| Attention-based RNN, joint intent + slot training — Liu & Lane, *Attention-Based Recurrent Neural Network Models for Joint Intent Detection and Slot Filling*, Interspeech 2016 | 95.98 | original | as quoted in MiuLab/SlotGated-SLU issue #4 |
| Liu & Lane's attention model re-run by Goo et al. on the SlotGated split | 94.2 | **same as ours** | Goo et al. 2018, as quoted in MiuLab/SlotGated-SLU issue #4 |
| Slot-gated (full attention) — Goo et al., *Slot-Gated Modeling for Joint Slot Filling and Intent Prediction*, NAACL 2018 | 94.8 | **same as ours** | "Official" row in github.com/bo-ke/cybo tutorials/slu/slot_gated/readme.md |
| Slot-gated (intent attention) — Goo et al., NAACL 2018 | 95.2 | **same as ours** | paperswithcode.com page of the paper (ATIS F1 95.20) |

Not listed because they could not be confirmed here: Mesnil et al.'s Jordan and hybrid RNN
numbers (≈95.06 is often quoted for the hybrid) and Liu & Lane's independent-training
attention encoder-decoder (≈95.87 is often quoted). The Goo et al. numbers are the closest
reference point; note that they are joint intent + slot models, while every system here
tags slots only.
"""


def write_report(key, with_plots):
    results = load_results(key)
    meta_path = os.path.join(EVAL, "results", key, "meta.json")
    if not results or not os.path.exists(meta_path):
        print(f"no results for {key}", flush=True)
        return None
    meta = read_json(meta_path)
    systems = {s["name"]: s for s in load_systems()}
    order = [name for name in systems if name in results] + sorted(set(results) - set(systems))
    baseline = next((n for n in order if systems.get(n, {}).get("baseline")), order[0])
    ok = {name: {seed: r for seed, r in results[name].items() if r.get("status") == "ok"}
          for name in order}

    def agg(name, getter):
        return mean_std([getter(r) for r in ok[name].values()])

    lines = []
    title = f"# Slot tagging on {meta['corpus']}: BiLSTM heads against a plain RNN"
    lines += [title, "",
              f"Generated by `Eval/run.py` from the files in `Eval/results/{key}/` and "
              f"`Eval/logs/{key}/`; regenerate with `make plots` (no retraining).", ""]
    m = meta["machine"]
    git = meta["git"]
    lines += ["## Setup", "",
              f"- Command: `{meta['command']}`",
              f"- Corpus: `{meta['corpus_path']}` (train/dev/test.conll); {meta['seeds']} seed(s) "
              f"per system (seeds 1..{meta['seeds']})" + (" — **QUICK smoke run: 2 epochs, sizes 32, "
                                                        "numbers are meaningless**" if meta.get("quick") else ""),
              f"- Commit: `{git['commit']}` on `{git['branch']}`"
              + (f", with uncommitted changes in {len(git['modified_files'])} file(s): "
                 + ", ".join(f"`{f}`" for f in git["modified_files"][:12]) if git["modified_files"] else ", clean"),
              f"- Binary: `{meta['binary']}` sha256 `{meta['binary_sha256'][:16]}…`",
              f"- Machine: {m.get('nproc')} cores available ({m.get('cpu_count')} online), "
              f"{m.get('cpu_model')} ({m.get('cpu_family_model')}; {m.get('cpu_simd')}), "
              f"{m.get('memory_gib')} GiB; {m.get('os')}",
              f"- OpenBLAS core: **{m.get('openblas_core')}** (`{m.get('openblas_config', '')}`)"
              + (f", set by OPENBLAS_CORETYPE={m['openblas_coretype_env']} (as `make train` does; "
                 f"OpenBLAS alone would pick {m.get('openblas_core_native', '?')})"
                 if m.get("openblas_coretype_env") else ", OpenBLAS's own choice"),
              f"- Toolchain: {m.get('swift', 'swift ?')}; Python {m.get('python')}",
              f"- Wall time of the whole evaluation: {meta['total_wall_seconds'] / 60:.1f} min "
              f"(at most {meta.get('max_parallel_cores', 2)} cores busy: bidirectional runs alone, "
              "unidirectional runs two at a time, so their timings share the machine)",
              f"- Finished {meta['finished']}", ""]

    lines += ["## Systems", "", "| System | trellis train flags | Epochs (max) | Description |",
              "|---|---|---|---|"]
    for name in order:
        s = systems.get(name, {})
        any_run = next(iter(results[name].values()))
        lines.append(f"| {name}{' (baseline)' if name == baseline else ''} | "
                     f"`{' '.join(any_run['flags'])}` | {any_run['epochs_max']} | {s.get('description', '')} |")
    lines += ["", "All runs use the trainer's defaults otherwise (Adam, lr 0.001, batch 32, dropout 0.5, "
              "clip 5, patience 8, embeddings 100, hidden 100 per direction unless the flags say "
              "otherwise); the saved model is the epoch with the best dev FB1.", ""]

    failed = [(n, seed, r) for n in order for seed, r in sorted(results[n].items()) if r.get("status") != "ok"]
    if failed:
        lines += ["**Failed runs:** " + "; ".join(f"{n} seed {seed}: {' '.join(r.get('error', []))}"
                                                  for n, seed, r in failed), ""]

    lines += ["## Results (test set)", "",
              "Mean ± sample standard deviation over seeds. FB1, precision and recall are conlleval "
              "chunk scores; accuracy is per token. *Invalid BIO* counts predicted sequences with an "
              "`I-X` at sentence start, after `O`, or after another type (sentences affected / "
              "transitions); the chain heads decode under the BIO constraints, so theirs are 0 by "
              "construction.", "",
              "| System | Seeds | Test FB1 | Precision | Recall | Token acc. | Invalid BIO sent. | Invalid BIO trans. | Best-dev epoch | Dev FB1 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name in order:
        if not ok[name]:
            lines.append(f"| {name} | 0 | failed | | | | | | | |")
            continue
        row = [name, str(len(ok[name])),
               fmt(*agg(name, lambda r: r["test"]["f1"])),
               fmt(*agg(name, lambda r: r["test"]["precision"])),
               fmt(*agg(name, lambda r: r["test"]["recall"])),
               fmt(*agg(name, lambda r: r["test"]["accuracy"])),
               fmt(*agg(name, lambda r: r["invalid_bio"]["sentences"]), digits=1, integers=True),
               fmt(*agg(name, lambda r: r["invalid_bio"]["transitions"]), digits=1, integers=True),
               fmt(*agg(name, lambda r: r["best_epoch"]), digits=1, integers=True) + " / "
               + fmt(*agg(name, lambda r: r["epochs_run"]), digits=1, integers=True),
               fmt(*agg(name, lambda r: r["best_dev_f1"]))]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Best-dev epoch is shown as *best / epochs run* (training stops after 8 epochs "
              "without a better dev FB1).", ""]

    lines += ["## Cost", "",
              "Training time is the wall clock of `trellis train` (including the dev evaluation after "
              "every epoch); training tokens/s is the mean over epochs of the log's `tokens_per_second` "
              "(the trainer's measure: training steps only, dev evaluation excluded); tagging tokens/s "
              "is the test file's tokens over the wall clock of `trellis tag` (process start and model "
              "load included). Unidirectional runs ran two at a time, one core each; bidirectional "
              "runs ran alone on both cores.", "",
              "| System | Parameters | Training time (s) | Training tokens/s | Tagging tokens/s |",
              "|---|---|---|---|---|"]
    for name in order:
        if not ok[name]:
            continue
        lines.append("| " + " | ".join([
            name, fmt_int(*agg(name, lambda r: r["parameters"])),
            fmt(*agg(name, lambda r: r["train_wall_seconds"]), digits=1),
            fmt_int(*agg(name, lambda r: r["train_tokens_per_second"])),
            fmt_int(*agg(name, lambda r: r["tag_tokens_per_second"]))]) + " |")
    lines.append("")

    # Significance.
    gold_path = os.path.join(ROOT, meta["corpus_path"], "test.conll")
    best = max((n for n in order if ok[n]), key=lambda n: agg(n, lambda r: r["test"]["f1"])[0], default=None)
    lines += ["## Paired bootstrap against the baseline", ""]
    if not os.path.exists(gold_path):
        lines += [f"Skipped: the gold test file `{meta['corpus_path']}/test.conll` is not available.", ""]
    elif baseline not in ok or not ok[baseline]:
        lines += ["Skipped: the baseline has no successful run.", ""]
    else:
        gold = read_conll_labels(gold_path)
        common = sorted(set.intersection(*(set(ok[n]) for n in order if ok[n])))
        pooled, seed1 = {}, {}
        for name in order:
            if not ok[name]:
                continue
            pooled[name] = [read_predictions(os.path.join(EVAL, "results", key, f"{name}-seed{s}.pred.gz"))
                            for s in common]
            if 1 in ok[name]:
                seed1[name] = [read_predictions(os.path.join(EVAL, "results", key, f"{name}-seed1.pred.gz"))]
        tests, observed = bootstrap(gold, pooled, baseline)
        tests1, observed1 = bootstrap(gold, seed1, baseline) if baseline in seed1 else ({}, {})
        lines += [f"Paired bootstrap over the {len(gold)} test sentences: {BOOTSTRAP_RESAMPLES} resamples "
                  f"with replacement (Python `random.Random({BOOTSTRAP_SEED})`), the same resampled "
                  f"sentences for every system. **Pooled**: each system's chunk counts are summed over "
                  f"seeds {', '.join(map(str, common))} before computing FB1, so the test compares the "
                  f"systems' seed-averaged behaviour; **seed 1**: the seed-1 runs alone. Δ = system FB1 − "
                  f"{baseline} FB1 (pooled FB1 differs slightly from the mean of per-seed FB1s). p is "
                  "two-sided: the share of resamples whose Δ lies at least |Δ| away from the observed Δ "
                  "(the bootstrap distribution shifted to the null), add-one smoothed; 95% interval from "
                  "the resampled Δ's percentiles.", "",
                  "| System | Pooled FB1 | Δ pooled | 95% interval | p (pooled) | Δ seed 1 | p (seed 1) |",
                  "|---|---|---|---|---|---|---|"]
        for name in pooled:
            delta, p, low, high = tests[name]
            d1 = tests1.get(name)
            is_base = name == baseline
            lines.append(f"| {name} | {observed[name]:.2f} | "
                         + ("(baseline) | | | | |" if is_base else
                            f"{delta:+.2f} | [{low:+.2f}, {high:+.2f}] | {p:.4f} | "
                            + (f"{d1[0]:+.2f} | {d1[1]:.4f} |" if d1 else "– | – |")))
        lines.append("")

    # Per-type FB1.
    if best and ok.get(baseline):
        gold_counts = collections.Counter()
        for r in ok[best].values():
            for t, v in r["test"]["types"].items():
                gold_counts[t] = max(gold_counts[t], v["gold"])
        top = [t for t, _ in sorted(gold_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]
        lines += ["## Per slot type (15 most frequent gold types in test)", "",
                  f"FB1 per type, mean ± std over seeds, for the best system by mean test FB1 "
                  f"(**{best}**) and the baseline (**{baseline}**).", "",
                  f"| Slot type | Gold chunks | {best} | {baseline} |", "|---|---|---|---|"]
        for t in top:
            cells = []
            for name in (best, baseline):  # the same system twice if the baseline is best
                cells.append(fmt(*mean_std([r["test"]["types"].get(t, {}).get("f1", 0.0)
                                            for r in ok[name].values()])))
            lines.append(f"| {t} | {gold_counts[t]} | {cells[0]} | {cells[1]} |")
        lines.append("")

    # Plots and the exploding-gradient experiment.
    plots = os.path.join("plots", key)
    lines += ["## Training curves", "",
              f"![dev FB1 per epoch]({plots}/dev-f1.png)", "",
              "Dev FB1 after every epoch, mean over the seeds that reached that epoch (runs stop "
              "early at different epochs).", "",
              f"![training loss per epoch]({plots}/train-loss.png)", "",
              "Training loss per epoch (mean per sentence, log scale). The heads optimise different "
              "losses (CRF negative log-likelihood, per-token cross-entropy summed over the sentence, "
              "perceptron and SSVM hinge losses), so compare shapes, not levels, across heads.", "",
              f"![test FB1 against training time]({plots}/f1-vs-time.png)", ""]
    ex_key = "exploding-quick" if meta.get("quick") else "exploding"
    config, rows = exploding_summary(ex_key)
    if rows:
        lines += ["## Exploding gradients in the plain RNN", "",
                  f"{config['description']}. Corpus `{config['corpus']}`, seed {config['seed']}, "
                  f"{config['epochs']} epochs, common flags `{' '.join(config['flags'])}`; gradient norms "
                  "are the global norm **before** clipping, one point per step.", "",
                  f"![exploding gradients](plots/{ex_key}.png)", "",
                  "| Run | Extra flags | Steps | Max grad. norm | Median grad. norm | Steps with norm > 100 | "
                  "Non-finite steps | Loss epoch 1 → last | Best dev FB1 | Exit |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['run']} | `{r['flags']}` | {r['steps']} | {r['max_norm']:,.0f} | "
                         f"{r['median_norm']:.1f} | {r['over_100']} | {r['non_finite']} | "
                         f"{r['first_loss']:.1f} → {r['last_loss']:.1f} | {r['best_dev']:.2f} | {r['exit']} |")
        lines.append("")

    if meta["corpus"].startswith("atis"):
        lines += [PUBLISHED]
    text = "\n".join(lines).rstrip() + "\n"
    path = report_path(key)
    write_atomically(path, text)
    print(f"wrote {rel(path)}", flush=True)
    if with_plots:
        make_plots(key, order, ok, ex_key)
    return path


# ----------------------------------------------------------------------------- plots

def make_plots(key, order, ok, ex_key):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not importable: no plots (run `make plots`, which installs it into Eval/.venv)",
              flush=True)
        return
    directory = os.path.join(EVAL, "plots", key)
    os.makedirs(directory, exist_ok=True)
    save = dict(dpi=110, metadata={"Software": None}, bbox_inches="tight")

    curves = {}
    for name in order:
        per_epoch = collections.defaultdict(lambda: {"dev": [], "loss": []})
        for seed in ok[name]:
            path = os.path.join(EVAL, "logs", key, f"{name}-seed{seed}.jsonl")
            if not os.path.exists(path):
                continue
            for r in split_log(read_jsonl(path))[0]:
                if r.get("dev_f1") is not None:
                    per_epoch[r["epoch"]]["dev"].append(r["dev_f1"])
                per_epoch[r["epoch"]]["loss"].append(r["loss"])
        curves[name] = per_epoch
    styles = {}
    for i, name in enumerate(order):
        styles[name] = dict(color=plt.cm.tab10(i % 10), linestyle="-" if name.startswith("bi") else "--",
                            marker="o", markersize=3)

    for quantity, filename, ylabel, log_scale in (
            ("dev", "dev-f1.png", "dev FB1 (%)", False),
            ("loss", "train-loss.png", "training loss per sentence", True)):
        fig, ax = plt.subplots(figsize=(8, 5))
        for name in order:
            points = sorted((e, statistics.fmean(v[quantity])) for e, v in curves[name].items() if v[quantity])
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], label=name, **styles[name])
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if log_scale:
            ax.set_yscale("log")
        else:
            top = max((max(statistics.fmean(v["dev"]) for v in c.values() if v["dev"])
                       for c in curves.values() if any(v["dev"] for v in c.values())), default=100)
            ax.set_ylim(max(0, top - 25), min(100, top + 2))
        ax.set_title(f"{key}: {'dev FB1' if quantity == 'dev' else 'training loss'} per epoch "
                     "(mean over seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.savefig(os.path.join(directory, filename), **save)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 5))
    for name in order:
        if not ok[name]:
            continue
        f1m, f1s = mean_std([r["test"]["f1"] for r in ok[name].values()])
        tm, ts = mean_std([r["train_wall_seconds"] for r in ok[name].values()])
        ax.errorbar([tm], [f1m], xerr=[ts], yerr=[f1s], fmt="o", color=styles[name]["color"],
                    label=name, capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("training wall time per run (s, log scale)")
    ax.set_ylabel("test FB1 (%)")
    ax.set_title(f"{key}: test FB1 against training time (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(os.path.join(directory, "f1-vs-time.png"), **save)
    plt.close(fig)

    plot_exploding(plt, ex_key)
    print(f"wrote plots in {rel(directory)}/", flush=True)




def plot_exploding(plt, ex_key):
    """Two panels from Eval/logs/<ex_key>/*.jsonl: loss per epoch/step, gradient norm per step."""
    save = dict(dpi=110, metadata={"Software": None}, bbox_inches="tight")
    config, rows = exploding_summary(ex_key)
    if rows:
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
        colors = {"no-clip": "tab:red", "clip5": "tab:blue"}
        for r in rows:
            epochs, steps = split_log(read_jsonl(os.path.join(EVAL, "logs", ex_key, f"{r['run']}.jsonl")))
            color = colors.get(r["run"])
            label = f"{r['run']} ({r['flags']}), best dev FB1 {r['best_dev']:.1f}"
            # Every step's loss, placed within its epoch, faint; the epoch means on top.
            per_epoch = collections.Counter(st["epoch"] for st in steps)
            seen = collections.Counter()
            xs, ys = [], []
            for st in steps:
                seen[st["epoch"]] += 1
                xs.append(st["epoch"] - 1 + seen[st["epoch"]] / per_epoch[st["epoch"]])
                ys.append(st["loss"])
            left.plot(xs, ys, linewidth=0.4, color=color, alpha=0.35)
            left.plot([e["epoch"] for e in epochs], [e["loss"] for e in epochs], marker="o",
                      color=color, label=label)
            right.plot([s["step"] for s in steps], [s["gradient_norm"] for s in steps], linewidth=0.6,
                       color=color, alpha=0.8, label=r["run"])
        clip = next((float(v[v.index("--clip") + 1]) for v in config["runs"].values()
                     if "--clip" in v and float(v[v.index("--clip") + 1]) > 0), None)
        if clip:
            right.axhline(clip, color="black", linestyle=":", linewidth=1, label=f"clip threshold {clip:g}")
        left.set_yscale("log")
        left.set_xlabel("epoch")
        left.set_ylabel("training loss per sentence (log scale)")
        left.set_title("training loss: epoch means (dots), every step (faint)")
        right.set_yscale("log")
        right.set_xlabel("step (batch of 32 sentences)")
        right.set_ylabel("global gradient norm before clipping (log scale)")
        right.set_title("gradient norm per step")
        for ax in (left, right):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("Plain RNN, SGD with a high learning rate: " + " ".join(config["flags"]), fontsize=9)
        fig.savefig(os.path.join(EVAL, "plots", f"{ex_key}.png"), **save)
        plt.close(fig)
        print(f"wrote {rel(os.path.join(EVAL, 'plots', ex_key + '.png'))}", flush=True)


# ----------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="corpus directory with train/dev/test.conll "
                        "(default ../shared/corpora/atis; Corpora/synthetic with --quick)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N per system (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: 1 seed, {QUICK_EPOCHS} epochs, {' '.join(QUICK_FLAGS)}")
    parser.add_argument("--systems", nargs="+", help="only these systems (names of Eval/systems/*.json)")
    parser.add_argument("--epochs", type=int, help="override every system's epochs")
    parser.add_argument("--name", help="results key instead of the corpus directory's name")
    parser.add_argument("--jobs", type=int, default=MAX_CORES, help="cores to use (at most 2)")
    parser.add_argument("--bin", default=DEFAULT_BIN, help="the trellis binary")
    parser.add_argument("--skip-exploding", action="store_true", help="skip the exploding-gradient runs")
    parser.add_argument("--only-exploding", action="store_true", help="only the exploding-gradient runs")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild report(s) and plots from kept files; no training")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--command", help="the command line to record in the report")
    args = parser.parse_args()
    os.chdir(ROOT)

    if args.report_only:
        if args.corpus:
            keys = [corpus_key(args.corpus, args.quick, args.name)]
        else:
            keys = sorted(os.path.basename(os.path.dirname(p))
                          for p in glob.glob(os.path.join(EVAL, "results", "*", "meta.json")))
        exploding = [os.path.basename(p) for p in sorted(glob.glob(os.path.join(EVAL, "logs", "exploding*")))]
        if not keys and not exploding:
            sys.exit("no results yet: run `make eval` first")
        for key in keys:
            write_report(key, not args.no_plots)
        if not keys and not args.no_plots:  # reports draw these too
            try:
                import matplotlib
                matplotlib.use("Agg")
                import matplotlib.pyplot as plt
                for key in exploding:
                    plot_exploding(plt, key)
            except ImportError:
                print("matplotlib not importable: no plots", flush=True)
        return

    args.corpus = args.corpus or ("Corpora/synthetic" if args.quick else "../shared/corpora/atis")
    args.corpus = os.path.normpath(args.corpus)
    for split in ("train", "dev", "test"):
        if not os.path.exists(os.path.join(args.corpus, f"{split}.conll")):
            sys.exit(f"{args.corpus}/{split}.conll not found")
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `make build` first")
    args.git = git_info()
    key, success = run_all(args)
    if not args.only_exploding:
        write_report(key, not args.no_plots)
    elif not args.no_plots:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            plot_exploding(plt, "exploding-quick" if args.quick else "exploding")
        except ImportError:
            print("matplotlib not importable: no plot", flush=True)
    sys.exit(0 if success else 1)


if __name__ == "__main__":
    main()
