"""The report on a tiny synthetic result set in a temporary Eval directory."""

import contextlib
import io
import json
import os
import tempfile
import unittest

from trellis_eval.files import write_json, write_predictions
from trellis_eval.layout import Tree
from trellis_eval.report import write_report
from trellis_eval.stats import bootstrap

# Four test sentences, one chunk each; "a" (the baseline) gets s2's type and s4's end wrong.
GOLD = [["B-X", "I-X", "O"], ["O", "B-Y"], ["B-X", "O"], ["B-Y", "I-Y"]]
GUESS_A = [["B-X", "I-X", "O"], ["O", "B-X"], ["B-X", "O"], ["B-Y", "O"]]


def result(system, seed, f1, seconds, types):
    return {"system": system, "seed": seed, "status": "ok", "flags": ["--encoder", system],
            "epochs_max": 3, "parameters": 1000, "train_wall_seconds": seconds,
            "train_tokens_per_second": 5000.0, "tag_tokens_per_second": 9000.0,
            "best_epoch": 3, "epochs_run": 3, "best_dev_f1": 80.0,
            "invalid_bio": {"sentences": 0, "transitions": 0},
            "test": {"f1": f1, "precision": f1, "recall": f1, "accuracy": 90.0,
                     "types": {t: {"gold": 2, "f1": v} for t, v in types.items()}}}


def make_tree(directory, key):
    """Systems a (baseline) and b; seeds 1 and 2 of both; one exploding run."""
    corpus = os.path.join(directory, "corpus")
    os.makedirs(corpus)
    with open(os.path.join(corpus, "test.conll"), "w") as f:
        f.write("".join("".join(f"w\t{label}\n" for label in s) + "\n" for s in GOLD))
    tree = Tree(os.path.join(directory, "Eval"))
    write_json(os.path.join(tree.directory, "systems", "a.json"),
               {"description": "the baseline", "order": 1, "baseline": True})
    write_json(os.path.join(tree.directory, "systems", "b.json"), {"description": "better"})
    for seed, f1, seconds in ((1, 49.0, 10.0), (2, 51.0, 12.0)):
        write_json(tree.results(key, f"a-seed{seed}.json"),
                   result("a", seed, f1, seconds, {"X": 80.0 + seed, "Y": 40.0}))
        write_json(tree.results(key, f"b-seed{seed}.json"),
                   result("b", seed, 100.0, 20.0, {"X": 100.0, "Y": 100.0}))
        write_predictions(tree.results(key, f"a-seed{seed}.pred.gz"), GUESS_A)
        write_predictions(tree.results(key, f"b-seed{seed}.pred.gz"), GOLD)
    write_json(tree.results(key, "meta.json"), {
        "corpus": key, "corpus_path": corpus, "seeds": 3, "quick": False, "command": "make eval",
        "machine": {"nproc": 2}, "binary": "trellis", "binary_sha256": "0" * 64,
        "git": {"commit": "c0ffee", "branch": "main", "modified_files": ["x.py"]},
        "total_wall_seconds": 90, "finished": "2026-01-01T00:00:00"})
    write_json(tree.exploding_config(), {
        "description": "Exploding", "corpus": "c", "seed": 1, "epochs": 2, "flags": ["--x"],
        "runs": {"no-clip": ["--clip", "0"], "clip5": ["--clip", "5"]}})
    log = [{"epoch": 1, "loss": 9.0, "dev_f1": 10.0}, {"epoch": 2, "loss": 4.0, "dev_f1": 30.0},
           {"epoch": 1, "step": 1, "loss": 9.0, "gradient_norm": 150.0},
           {"epoch": 2, "step": 2, "loss": 4.0, "gradient_norm": 170.0},
           # as `trellis train --log` writes numbers that are not finite
           {"epoch": 2, "step": 3, "loss": "nan", "gradient_norm": "inf"},
           {"epoch": 2, "step": 4, "loss": "nan", "gradient_norm": "nan"}]
    os.makedirs(tree.logs("exploding"))
    with open(tree.logs("exploding", "no-clip.jsonl"), "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in log))
    write_json(tree.results("exploding", "no-clip.json"), {"exit_status": 0})
    return tree


class ReportTests(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.tree = make_tree(self.directory.name, "tiny")
        with contextlib.redirect_stdout(io.StringIO()):
            path = write_report("tiny", False, self.tree)
        self.assertEqual(path, os.path.join(self.tree.directory, "RESULTS-tiny.md"))
        with open(path) as f:
            self.lines = f.read().splitlines()

    def tearDown(self):
        self.directory.cleanup()

    def test_setup_and_systems(self):
        self.assertEqual(self.lines[0], "# Slot tagging on tiny: BiLSTM heads against a plain RNN")
        self.assertIn("- Commit: `c0ffee` on `main`, with uncommitted changes in 1 file(s): "
                      "`x.py`", self.lines)
        self.assertIn("| a (baseline) | `--encoder a` | 3 | the baseline |", self.lines)
        self.assertIn("| b | `--encoder b` | 3 | better |", self.lines)

    def test_reruns_of_some_systems_name_every_command_and_binary(self):
        """Each command whose runs are kept, in the order they ran; one whose runs were all
        replaced is gone (a list kept in meta.json only grew)."""
        rerun = "python3 Eval/run.py --systems b"
        for seed in (1, 2):
            path = self.tree.results("tiny", f"b-seed{seed}.json")
            with open(path) as f:
                b = json.load(f)
            write_json(path, dict(b, binary_sha256="1" * 64, command=rerun,
                                  started=f"2026-01-0{seed + 1}T00:00:00"))
        for seed, f1 in ((1, 49.0), (2, 51.0)):
            write_json(self.tree.results("tiny", f"a-seed{seed}.json"),
                       dict(result("a", seed, f1, 10.0, {"X": 80.0 + seed, "Y": 40.0}),
                            binary_sha256="0" * 64, invalid_bio=None, command="make eval",
                            started="2026-01-01T00:00:00"))
        with contextlib.redirect_stdout(io.StringIO()):
            path = write_report("tiny", False, self.tree)
        with open(path) as f:
            text = f.read()
        self.assertIn("- Commands, each later one rerunning the systems it names: `make eval`, "
                      f"then `{rerun}`", text)
        self.assertIn("(the last command's; the kept runs come from 2 binaries", text)
        for seed in (1, 2):
            path = self.tree.results("tiny", f"a-seed{seed}.json")
            with open(path) as f:
                a = json.load(f)
            write_json(path, dict(a, command=rerun))
        with contextlib.redirect_stdout(io.StringIO()):
            write_report("tiny", False, self.tree)
        with open(path.replace("results/tiny/a-seed2.json", "RESULTS-tiny.md")) as f:
            self.assertIn(f"- Command: `{rerun}`", f.read())
        # Runs of data in another scheme than BIO have no count of BIO's invalid transitions.
        self.assertIn("| a | 2 | 50.00 ± 1.41 | 50.00 ± 1.41 | 50.00 ± 1.41 | 90.00 | – | – ",
                      text)

    def test_means_and_deviations_over_seeds(self):
        # a: FB1 49 and 51 -> 50.00 ± 1.41; counts and epochs without decimals.
        self.assertIn("| a | 2 | 50.00 ± 1.41 | 50.00 ± 1.41 | 50.00 ± 1.41 | 90.00 | 0 | 0 "
                      "| 3 / 3 | 80.00 |", self.lines)
        self.assertIn("| a | 1,000 | 11.0 ± 1.4 | 5,000 | 9,000 |", self.lines)
        self.assertIn("| b | 1,000 | 20.0 | 5,000 | 9,000 |", self.lines)

    def test_bootstrap_pools_the_seeds_both_systems_have(self):
        text = "\n".join(self.lines)
        self.assertIn("Paired bootstrap over the 4 test sentences", text)
        self.assertIn("summed over seeds 1, 2 before computing FB1", text)
        self.assertIn("| a | 50.00 | (baseline) | | | | |", self.lines)
        tests, _ = bootstrap(GOLD, {"a": [GUESS_A] * 2, "b": [GOLD] * 2}, "a")
        delta, p, low, high = tests["b"]
        single = bootstrap(GOLD, {"a": [GUESS_A], "b": [GOLD]}, "a")[0]["b"]
        self.assertEqual(delta, 50.0)
        self.assertIn(f"| b | 100.00 | +50.00 | [{low:+.2f}, {high:+.2f}] | {p:.4f} | "
                      f"{single[0]:+.2f} | {single[1]:.4f} |", self.lines)

    def test_per_type_compares_the_best_system_with_the_baseline(self):
        self.assertIn("| Slot type | Gold chunks | b | a |", self.lines)
        self.assertIn("| X | 2 | 100.00 | 81.50 ± 0.71 |", self.lines)
        self.assertIn("| Y | 2 | 100.00 | 40.00 |", self.lines)

    def test_exploding_runs_with_logs(self):
        self.assertIn("| no-clip | `--clip 0` | 4 | 170 | 160.0 | 2 | 2 | 9.0 → 4.0 | 30.00 "
                      "| 0 |", self.lines)
        self.assertFalse(any(line.startswith("| clip5 ") for line in self.lines))

    def test_published_numbers_only_for_atis(self):
        self.assertFalse(any("Published ATIS" in line for line in self.lines))

    def test_no_report_without_meta(self):
        os.remove(self.tree.results("tiny", "meta.json"))
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertIsNone(write_report("tiny", False, self.tree))
        self.assertEqual(out.getvalue(), "no results for tiny\n")


if __name__ == "__main__":
    unittest.main()
