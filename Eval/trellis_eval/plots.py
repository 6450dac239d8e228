"""The report's PNG plots (matplotlib, only when it can be imported)."""

import collections
import os
import statistics

from .files import read_jsonl, split_log
from .layout import Tree, rel
from .stats import mean_std
from .systems import exploding_summary

# No "Software" metadata: the same data give the same PNG bytes.
SAVE = dict(dpi=110, metadata={"Software": None}, bbox_inches="tight")


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or None (saying so) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not importable: no plots (run `make plots`, which installs it into "
              "Eval/.venv)", flush=True)
        return None
    return plt


def make_plots(key, order, results, ex_key, tree=Tree()):
    """Eval/plots/<key>/{dev-f1,train-loss,f1-vs-time}.png for the systems in `order` with their
    runs `results[name][seed]`, and Eval/plots/<ex_key>.png."""
    plt = pyplot()
    if plt is None:
        return
    directory = tree.plots(key)
    os.makedirs(directory, exist_ok=True)
    curves = _epoch_curves(key, order, results, tree)
    styles = {name: dict(color=plt.cm.tab10(i % 10),
                         linestyle="-" if name.startswith("bi") else "--", marker="o",
                         markersize=3)
              for i, name in enumerate(order)}
    for quantity, filename, ylabel, log_scale in (
            ("dev", "dev-f1.png", "dev FB1 (%)", False),
            ("loss", "train-loss.png", "training loss per sentence", True)):
        _plot_per_epoch(plt, key, curves, styles, (quantity, ylabel, log_scale),
                        os.path.join(directory, filename))
    _plot_f1_vs_time(plt, key, order, results, styles, os.path.join(directory, "f1-vs-time.png"))
    plot_exploding(plt, ex_key, tree)
    print(f"wrote plots in {rel(directory)}/", flush=True)


def _epoch_curves(key, order, results, tree):
    """{system: {epoch: {"dev": [dev FB1 per seed], "loss": [loss per seed]}}} from the logs."""
    curves = {}
    for name in order:
        per_epoch = collections.defaultdict(lambda: {"dev": [], "loss": []})
        for seed in results[name]:
            path = tree.logs(key, f"{name}-seed{seed}.jsonl")
            if not os.path.exists(path):
                continue
            for r in split_log(read_jsonl(path))[0]:
                if r.get("dev_f1") is not None:
                    per_epoch[r["epoch"]]["dev"].append(r["dev_f1"])
                per_epoch[r["epoch"]]["loss"].append(r["loss"])
        curves[name] = per_epoch
    return curves


def _plot_per_epoch(plt, key, curves, styles, quantity_axis, path):
    """One line per system: the mean over seeds of `quantity` ("dev" or "loss") per epoch."""
    quantity, ylabel, log_scale = quantity_axis
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, per_epoch in curves.items():
        points = sorted((e, statistics.fmean(v[quantity])) for e, v in per_epoch.items()
                        if v[quantity])
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
    fig.savefig(path, **SAVE)
    plt.close(fig)


def _plot_f1_vs_time(plt, key, order, results, styles, path):
    fig, ax = plt.subplots(figsize=(7, 5))
    for name in order:
        f1m, f1s = mean_std([r["test"]["f1"] for r in results[name].values()])
        tm, ts = mean_std([r["train_wall_seconds"] for r in results[name].values()])
        ax.errorbar([tm], [f1m], xerr=[ts], yerr=[f1s], fmt="o", color=styles[name]["color"],
                    label=name, capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("training wall time per run (s, log scale)")
    ax.set_ylabel("test FB1 (%)")
    ax.set_title(f"{key}: test FB1 against training time (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, **SAVE)
    plt.close(fig)


def plot_exploding(plt, ex_key, tree=Tree()):
    """Eval/plots/<ex_key>.png from Eval/logs/<ex_key>/*.jsonl: loss per epoch and step (left),
    gradient norm per step (right); nothing without logs."""
    config, rows = exploding_summary(ex_key, tree)
    if not rows:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    colors = {"no-clip": "tab:red", "clip5": "tab:blue"}
    for r in rows:
        epochs, steps = split_log(read_jsonl(tree.logs(ex_key, f"{r['run']}.jsonl")))
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
        right.plot([s["step"] for s in steps], [s["gradient_norm"] for s in steps],
                   linewidth=0.6, color=color, alpha=0.8, label=r["run"])
    _label_exploding(left, right, config)
    path = tree.plots(f"{ex_key}.png")
    fig.savefig(path, **SAVE)
    plt.close(fig)
    print(f"wrote {rel(path)}", flush=True)


def _label_exploding(left, right, config):
    """The clip threshold line (the first positive --clip of the runs), axes and titles."""
    clip = next((float(v[v.index("--clip") + 1]) for v in config["runs"].values()
                 if "--clip" in v and float(v[v.index("--clip") + 1]) > 0), None)
    if clip:
        right.axhline(clip, color="black", linestyle=":", linewidth=1,
                      label=f"clip threshold {clip:g}")
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
    fig = left.figure
    fig.suptitle("Plain RNN, SGD with a high learning rate: " + " ".join(config["flags"]),
                 fontsize=9)
