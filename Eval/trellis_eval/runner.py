"""Training, tagging and scoring every system x seed (and the exploding-gradient runs)."""

import contextlib
import datetime
import glob
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

from .conlleval import ConllCounts, bio_equivalents, invalid_bio
from .files import (parameter_count, read_conll_labels, read_json, read_jsonl, sha256,
                    split_log, write_json, write_predictions)
from .layout import MAX_CORES, QUICK_EPOCHS, QUICK_FLAGS, ROOT, Tree, corpus_key, exploding_key, rel
from .machine import machine_info
from .pool import Pool
from .systems import load_exploding, load_systems, uses_both_cores


class RunFailed(Exception):
    """A step of one run failed: `message` for the progress line, `errors` for its result."""

    def __init__(self, message, errors):
        super().__init__(message)
        self.message = message
        self.errors = errors


def error_lines(stderr):
    """The lines of a failed command's stderr that say what went wrong."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines)[-3:]


def printable(command, tree):
    """The command as the report shows it: "trellis", paths relative to the repository, staged
    files where they are kept."""
    words = [rel(tree.kept(c)) if os.path.isabs(c) else c for c in command]
    words[0] = "trellis"
    return " ".join(shlex.quote(c) for c in words)


class Runner:
    def __init__(self, args, tree=Tree()):
        self.args = args
        self.tree = tree
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
        self.test_path = os.path.join(self.corpus, "test.conll")
        self.test_sentences = read_conll_labels(self.test_path)
        self.test_tokens = sum(len(s) for s in self.test_sentences)
        self.binary_sha = sha256(self.binary)
        # The command line the report names for this run's results.
        self.command = (args.command
                        or "python3 " + " ".join(shlex.quote(a) for a in sys.argv))

    def log(self, message):
        elapsed = time.monotonic() - self.started
        with self.lock:
            print(f"[{int(elapsed) // 60:2d}:{int(elapsed) % 60:02d}] {message}", flush=True)

    def finish(self, message):
        with self.lock:
            self.done += 1
            done = self.done
        self.log(f"[{done}/{self.total}] {message}")

    def train_command(self, flags, epochs, seed, model, log, corpus=None):
        corpus = corpus or self.corpus
        command = [self.binary, "train", "--train", os.path.join(corpus, "train.conll"),
                   "--dev", os.path.join(corpus, "dev.conll"), "--model", model,
                   "--seed", str(seed), "--log", log]
        return command + (["--epochs", str(epochs)] if epochs else []) + list(flags)

    def run_system(self, system, seed, busy_cores=0):
        """Trains, tags and scores one system with one seed; writes its result (also when a step
        fails) to results/<key>/<system>-seed<N>.json of the tree (staged by run_all)."""
        name = f"{system['name']}-seed{seed}"
        flags = list(system["flags"]) + (QUICK_FLAGS if self.quick else [])
        # None: the trainer's default limit (read back from the log's recipe line).
        epochs = self.args.epochs or (QUICK_EPOCHS if self.quick else None)
        for directory in (self.tree.runs(self.key), self.tree.logs(self.key),
                          self.tree.results(self.key)):
            os.makedirs(directory, exist_ok=True)
        model = self.tree.runs(self.key, f"{name}.model")
        log = self.tree.logs(self.key, f"{name}.jsonl")
        command = self.train_command(flags, epochs, seed, model, log)
        result = {"system": system["name"], "seed": seed, "corpus": self.key,
                  "corpus_path": self.corpus, "flags": flags, "epochs_max": epochs,
                  "train_command": printable(command, self.tree),
                  "command": self.command, "binary_sha256": self.binary_sha,
                  "git_commit": self.args.git["commit"],
                  "cores": 2 if uses_both_cores(flags) else 1,
                  "ran_alongside_another_run": busy_cores > 0,
                  "started": datetime.datetime.now().isoformat(timespec="seconds"),
                  "load_average_at_start": os.getloadavg()[0]}
        self.log(f"start {name}" + (" (alongside another run)" if busy_cores else ""))
        try:
            self._train(name, command, model, log, result)
            predicted = self._tag(name, model, result)
            self._score(model, predicted, result)
        except RunFailed as failure:
            result["status"] = "failed"
            result["error"] = failure.errors
            write_json(self.tree.results(self.key, f"{name}.json"), result)
            self.failures.append(name)
            self.finish(f"{name}: {failure.message}: " + " | ".join(failure.errors))
            return
        result["status"] = "ok"
        result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        write_json(self.tree.results(self.key, f"{name}.json"), result)
        self.finish(
            f"{name}: test FB1 {result['test']['f1']:.2f}  dev {result['best_dev_f1'] or 0:.2f} "
            f"(best epoch {result['best_epoch']}/{result['epochs_run']})  "
            f"train {result['train_wall_seconds']:.1f} s  "
            f"{result['train_tokens_per_second']:.0f} tok/s  "
            f"tag {result['tag_tokens_per_second']:.0f} tok/s"
            + (f"  invalid BIO {result['invalid_bio']['transitions']}"
               if result["invalid_bio"] else "")
            + ("" if result["python_conlleval_agrees"]
               else "  WARNING: Python conlleval disagrees with trellis eval"))

    def _train(self, name, command, model, log, result):
        begin = time.monotonic()
        train = train_afresh(command, model)
        result["train_wall_seconds"] = time.monotonic() - begin
        result["load_average_after_training"] = os.getloadavg()[0]
        with open(self.tree.runs(self.key, f"{name}.train.stderr"), "w") as f:
            f.write(train.stderr)
        if train.returncode != 0 or not os.path.exists(model):
            raise RunFailed(f"TRAINING FAILED (exit {train.returncode})",
                            error_lines(train.stderr))
        records = read_jsonl(log)
        epochs_log, _ = split_log(records)
        recipe = next((r["recipe"] for r in records if "recipe" in r), None)
        if recipe:
            result["epochs_max"] = recipe["options"]["epochs"]
            result["scheme"] = recipe["configuration"].get("scheme", "bio")
        best = [r for r in epochs_log if r.get("is_best")]
        result["epochs_run"] = len(epochs_log)
        result["best_epoch"] = best[-1]["epoch"] if best else None
        result["best_dev_f1"] = best[-1].get("dev_f1") if best else None
        result["train_tokens_per_second"] = (
            statistics.fmean(r["tokens_per_second"] for r in epochs_log) if epochs_log else None)
        result["train_epoch_seconds_sum"] = sum(r["seconds"] for r in epochs_log)
        result["parameters"] = parameter_count(model)

    def _tag(self, name, model, result):
        """Tags the test file (timed) and keeps the predicted labels; returns them."""
        tagged_path = self.tree.runs(self.key, f"{name}.tagged")
        begin = time.monotonic()
        with open(tagged_path, "w") as out:
            tag = subprocess.run([self.binary, "tag", "--model", model, self.test_path],
                                 cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True)
        result["tag_wall_seconds"] = time.monotonic() - begin
        if tag.returncode != 0:
            raise RunFailed("TAGGING FAILED", ["tag: " + line for line in error_lines(tag.stderr)])
        result["tag_tokens"] = self.test_tokens
        result["tag_tokens_per_second"] = self.test_tokens / result["tag_wall_seconds"]
        predicted = read_conll_labels(tagged_path)
        write_predictions(self.tree.results(self.key, f"{name}.pred.gz"), predicted)
        return predicted

    def _score(self, model, predicted, result):
        scored = subprocess.run([self.binary, "eval", "--model", model, "--test", self.test_path,
                                 "--json"], cwd=ROOT, capture_output=True, text=True)
        if scored.returncode != 0:
            raise RunFailed("EVAL FAILED",
                            ["eval: " + line for line in error_lines(scored.stderr)])
        result["test"] = json.loads(scored.stdout)
        # BIO's rules alone: an IOB1 chunk may start with I-X, and a BIOES one has its own.
        scheme = result.get("scheme", "bio")
        result["invalid_bio"] = invalid_bio(predicted) if scheme == "bio" else None
        result["python_conlleval_agrees"] = self._conlleval_agrees(
            predicted, result["test"], bioes=scheme == "bioes")

    def _conlleval_agrees(self, predicted, test, bioes):
        """Our own conlleval over the tagged output must agree with `trellis eval`, which counts
        BIOES data's chunks as their BIO labels'."""
        gold = self.test_sentences
        if len(predicted) != len(gold) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
            return False
        counts = ConllCounts()
        for g, p in zip(gold, predicted):
            counts.add(*((bio_equivalents(g), bio_equivalents(p)) if bioes else (g, p)))
        return counts.counts() == (test["correct"], test["found"], test["phrases"])

    def run_exploding(self, run, extra_flags, busy_cores=0):
        """One run of Eval/exploding.json: trains, keeps the log and a summary of the exit."""
        config = load_exploding(self.tree)
        key = exploding_key(self.quick)
        os.makedirs(self.tree.logs(key), exist_ok=True)
        os.makedirs(self.tree.runs(key), exist_ok=True)
        log = self.tree.logs(key, f"{run}.jsonl")
        model = self.tree.runs(key, f"{run}.model")
        command = self.train_command(config["flags"] + extra_flags, config["epochs"],
                                     config["seed"], model, log, corpus=config["corpus"])
        self.log(f"start exploding-gradient run {run}")
        begin = time.monotonic()
        process = train_afresh(command, model)
        seconds = time.monotonic() - begin
        summary = {"run": run, "exit_status": process.returncode, "wall_seconds": seconds,
                   "train_command": printable(command, self.tree),
                   "stderr_tail": process.stderr.strip().splitlines()[-2:]}
        write_json(self.tree.results(key, f"{run}.json"), summary)
        epochs_log, steps = split_log(read_jsonl(log))
        norms = [s["gradient_norm"] for s in steps if math.isfinite(s["gradient_norm"])]
        self.finish(f"exploding {run}: exit {process.returncode}, {len(epochs_log)} epochs, "
                    f"max gradient norm {max(norms, default=float('nan')):.0f}, "
                    f"last loss {epochs_log[-1]['loss'] if epochs_log else float('nan'):.2f}")


def train_afresh(command, model):
    """Runs `command`, a `trellis train` of `model` in Eval/runs/ (the harness's own, git-ignored
    folder), from its first epoch. An earlier run of it that was interrupted (or stopped on a
    non-finite loss) left its checkpoint, `MODEL.checkpoint` as `trellis train` names it, which
    the trainer will not replace without --resume: every later evaluation failed on it. A resumed
    run's timings would not be a whole training's, so the checkpoint goes instead."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(model + ".checkpoint")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def _remove_stale(tree, key, systems, only_named):
    """Results of earlier runs that this one does not redo would mix into the report: removes
    them (all of this corpus's, or only the named systems' with --systems)."""
    for name in ([s["name"] for s in systems] if only_named else ["*"]):
        for path in (glob.glob(tree.results(key, f"{name}-seed*.json"))
                     + glob.glob(tree.results(key, f"{name}-seed*.pred.gz"))
                     + glob.glob(tree.logs(key, f"{name}-seed*.jsonl"))):
            os.remove(path)


def _move_in(staging):
    """Moves every staged file of results/ and logs/ to where it is kept, then the staging
    directory away."""
    for directory, _, names in os.walk(staging.staging):
        for name in names:
            path = os.path.join(directory, name)
            os.makedirs(os.path.dirname(staging.kept(path)), exist_ok=True)
            os.replace(path, staging.kept(path))
    shutil.rmtree(staging.staging, ignore_errors=True)  # absent when nothing ran


def _settings_differ(kept, seeds, epochs):
    """Why a rerun of some systems (--systems) with `seeds` and `epochs` may not join the kept
    runs that `kept` (their meta.json) describes, or None: the report states one number of
    seeds and one epoch limit for every system, which the rerun's runs would not have."""
    held = {"--seeds": kept.get("seeds"), "--epochs": kept.get("epochs")}
    asked = {"--seeds": seeds, "--epochs": epochs}
    differ = [f"{option} {held[option] or 'unset'} there, {asked[option] or 'unset'} here"
              for option in held if held[option] != asked[option]]
    if not differ:
        return None
    return (f"the kept runs were made with other settings ({'; '.join(differ)}); rerun every "
            "system with these, or give these runs a report of their own (--name NAME)")


def _write_meta(runner, args, systems, pool, total_seconds):
    meta = {"corpus": runner.key, "corpus_path": args.corpus, "seeds": runner.seeds,
            "epochs": args.epochs, "quick": args.quick, "systems": [s["name"] for s in systems],
            "command": runner.command,
            "machine": machine_info(), "git": args.git, "binary": rel(runner.binary),
            "binary_sha256": runner.binary_sha, "total_wall_seconds": total_seconds,
            "max_parallel_cores": pool.cores,
            "finished": datetime.datetime.now().isoformat(timespec="seconds")}
    write_json(runner.tree.results(runner.key, "meta.json"), meta)


def run_all(args, tree=Tree()):
    """Every run the arguments ask for, at most `args.jobs` cores busy; (key, all succeeded).
    The kept results and logs change only when every run succeeded (see Tree.staged)."""
    staging = tree.staged(corpus_key(args.corpus, args.quick, args.name))
    # Files of an earlier run that never finished must not move in with this one's.
    shutil.rmtree(staging.staging, ignore_errors=True)
    runner = Runner(args, staging)
    systems = load_systems(args.systems, tree)
    kept_meta_path = tree.results(runner.key, "meta.json")
    kept = (read_json(kept_meta_path)
            if args.systems and not args.only_exploding and os.path.exists(kept_meta_path)
            else None)
    refusal = kept and _settings_differ(kept, runner.seeds, args.epochs)
    if refusal:
        print(f"{rel(os.path.dirname(kept_meta_path))}/: {refusal}", flush=True)
        return runner.key, False
    pool = Pool(min(args.jobs, MAX_CORES))
    if not args.skip_exploding:
        for run, extra in load_exploding(tree)["runs"].items():
            pool.add(1, lambda busy_cores, r=run, e=extra: runner.run_exploding(r, e, busy_cores),
                     f"exploding {run}")
    if not args.only_exploding:
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
        _write_meta(runner, args, systems, pool, total_seconds)
    runner.log(f"all runs done in {total_seconds / 60:.1f} min")
    if pool.errors:
        print("errors:\n  " + "\n  ".join(pool.errors), flush=True)
    if runner.failures:
        print(f"{len(runner.failures)} run(s) failed: {', '.join(runner.failures)}", flush=True)
    if pool.errors or runner.failures:
        print("kept results unchanged; this run's results and logs are in "
              f"{rel(staging.staging)}/", flush=True)
        return runner.key, False
    if not args.only_exploding:
        _remove_stale(tree, runner.key, systems, bool(args.systems))
    _move_in(staging)
    return runner.key, True
