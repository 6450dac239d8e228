"""The systems under comparison (Eval/systems/*.json) and the exploding-gradient experiment."""

import glob
import math
import os
import statistics
import sys

from .files import read_json, read_jsonl, split_log
from .layout import Tree


# Report order: the baseline first, then by what each system adds.
SYSTEM_ORDER = ["rnn-softmax", "rnn-softmax-window3", "rnn-crf", "bilstm-softmax", "bilstm-crf",
                "bilstm-perceptron", "bilstm-ssvm"]


def load_systems(names=None, tree=Tree()):
    """The systems of Eval/systems/*.json: each file is a `trellis train --config` recipe (the
    settings that differ from the defaults, and a description). Each system gets its file's stem
    as "name" and `--config FILE` as its flags; sorted by SYSTEM_ORDER, then by name. Exits on
    an unknown name in `names`."""
    systems = []
    for path in sorted(glob.glob(tree.system_configs())):
        recipe = read_json(path)
        systems.append({"name": os.path.splitext(os.path.basename(path))[0],
                        "description": recipe.get("description", ""),
                        "flags": ["--config", os.path.relpath(path)]})
    if names:
        wanted = set(names)
        unknown = wanted - {s["name"] for s in systems}
        if unknown:
            sys.exit(f"unknown system(s): {', '.join(sorted(unknown))}")
        systems = [s for s in systems if s["name"] in wanted]
    rank = {name: index for index, name in enumerate(SYSTEM_ORDER)}
    systems.sort(key=lambda s: (rank.get(s["name"], len(rank)), s["name"]))
    return systems


def uses_both_cores(flags):
    """A bidirectional encoder runs one thread per direction; the others use one core. The
    encoder comes from --encoder, else from the --config recipe, else the default (bilstm)."""
    if "--encoder" in flags:
        encoder = flags[flags.index("--encoder") + 1]
    elif "--config" in flags:
        recipe = read_json(flags[flags.index("--config") + 1])
        encoder = recipe.get("configuration", {}).get("encoder", "bilstm")
    else:
        encoder = "bilstm"
    return encoder.startswith("bi")


def load_exploding(tree=Tree()):
    """Eval/exploding.json: corpus, seed, epochs, common flags and the runs' extra flags."""
    return read_json(tree.exploding_config())


def exploding_summary(key, tree=Tree()):
    """(config, one row per run whose log exists) for Eval/logs/<key>/*.jsonl."""
    config = load_exploding(tree)
    rows = []
    for run in config["runs"]:
        path = tree.logs(key, f"{run}.jsonl")
        if not os.path.exists(path):
            continue
        epochs, steps = split_log(read_jsonl(path))
        norms = [s["gradient_norm"] for s in steps]
        finite = [x for x in norms if math.isfinite(x)]
        summary_path = tree.results(key, f"{run}.json")
        summary = read_json(summary_path) if os.path.exists(summary_path) else {}
        rows.append({
            "run": run, "flags": " ".join(config["runs"][run]), "steps": len(steps),
            "max_norm": max(finite, default=float("nan")),
            "median_norm": statistics.median(finite) if finite else float("nan"),
            "over_100": sum(x > 100 for x in finite), "non_finite": len(norms) - len(finite),
            "first_loss": epochs[0]["loss"] if epochs else float("nan"),
            "last_loss": epochs[-1]["loss"] if epochs else float("nan"),
            "best_dev": max((e.get("dev_f1") or 0 for e in epochs), default=float("nan")),
            "exit": summary.get("exit_status")})
    return config, rows
