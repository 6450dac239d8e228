"""The command line of Eval/run.py."""

import argparse
import glob
import os
import sys

import trellis_eval

from .layout import (ATIS_CORPUS, DEFAULT_BIN, MAX_CORES, QUICK_CORPUS, QUICK_EPOCHS, QUICK_FLAGS,
                     ROOT, Tree, corpus_key, exploding_key)
from .machine import git_info
from .plots import plot_exploding, pyplot
from .report import write_report
from .runner import run_all


def positive(text):
    """An argparse type: an integer of at least 1. Below it the runs would not do what was asked:
    0 seeds run nothing and replace the kept results by none, 0 epochs mean the trainer's own
    limit, and 0 or fewer jobs no limit at all."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=trellis_eval.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="corpus directory with train/dev/test.conll "
                        f"(default {ATIS_CORPUS}; {QUICK_CORPUS} with --quick)")
    parser.add_argument("--seeds", type=positive, default=3,
                        help="seeds 1..N per system (default %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: 1 seed, {QUICK_EPOCHS} epochs, {' '.join(QUICK_FLAGS)}")
    parser.add_argument("--systems", nargs="+",
                        help="only these systems (names of Eval/systems/*.json)")
    parser.add_argument("--epochs", type=positive, help="override every system's epochs")
    parser.add_argument("--name", help="results key instead of the corpus directory's name")
    parser.add_argument("--jobs", type=positive, default=MAX_CORES,
                        help=f"cores to use (at most {MAX_CORES})")
    parser.add_argument("--bin", default=DEFAULT_BIN, help="the trellis binary")
    exploding = parser.add_mutually_exclusive_group()
    exploding.add_argument("--skip-exploding", action="store_true",
                           help="skip the exploding-gradient runs")
    exploding.add_argument("--only-exploding", action="store_true",
                           help="only the exploding-gradient runs")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild report(s) and plots from kept files; no training")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--command", help="the command line to record in the report")
    return parser.parse_args(argv)


def report_only(args, tree=Tree()):
    """Rebuilds the report of --corpus, or of every key with a meta.json, and the plots."""
    if args.corpus:
        keys = [corpus_key(args.corpus, args.quick, args.name)]
    else:
        keys = sorted(os.path.basename(os.path.dirname(p))
                      for p in glob.glob(tree.results("*", "meta.json")))
    exploding = [os.path.basename(p) for p in sorted(glob.glob(tree.logs("exploding*")))]
    if not keys and not exploding:
        sys.exit("no results yet: run `make eval` first")
    for key in keys:
        write_report(key, not args.no_plots, tree)
    if not keys and not args.no_plots:  # reports draw these too
        plt = pyplot()
        if plt:
            for key in exploding:
                plot_exploding(plt, key, tree)


def evaluate(args, tree=Tree()):
    """Trains and scores, writes the report and plots; exits 1, the kept results and report as
    they were, when a run failed."""
    args.corpus = os.path.normpath(args.corpus or (QUICK_CORPUS if args.quick else ATIS_CORPUS))
    for split in ("train", "dev", "test"):
        if not os.path.exists(os.path.join(args.corpus, f"{split}.conll")):
            sys.exit(f"{args.corpus}/{split}.conll not found")
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `make build` first")
    args.git = git_info()
    key, success = run_all(args, tree)
    if not success:
        sys.exit(1)
    if not args.only_exploding:
        write_report(key, not args.no_plots, tree)
    elif not args.no_plots:
        plt = pyplot()
        if plt:
            plot_exploding(plt, exploding_key(args.quick), tree)


def main(argv=None):
    args = parse_arguments(argv)
    os.chdir(ROOT)
    if args.report_only:
        report_only(args)
    else:
        evaluate(args)
