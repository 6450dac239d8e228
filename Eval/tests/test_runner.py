"""One system's run (train, tag, score), and a whole evaluation's, against a stand-in for the
trellis binary."""

import argparse
import contextlib
import io
import os
import stat
import tempfile
import unittest
from unittest import mock

from trellis_eval.files import read_json, read_predictions, write_json
from trellis_eval.layout import Tree, rel
from trellis_eval.runner import Runner, run_all

# Fails the subcommand named by FAKE_TRELLIS_FAIL; otherwise trains a one-epoch "model" with a
# valid header (2x3 + 1x4 parameters) of data in the scheme FAKE_TRELLIS_SCHEME (default bio),
# refusing, as trellis train does, to start where an earlier run left its checkpoint; tags every
# token with its gold label and reports the eval counts of FAKE_TRELLIS_COUNTS (correct, found,
# gold).
FAKE_TRELLIS = r'''#!/usr/bin/env python3
import json, os, struct, sys
command, options = sys.argv[1], sys.argv[2:]
def option(name):
    return options[options.index(name) + 1]
if command == os.environ.get("FAKE_TRELLIS_FAIL"):
    sys.stderr.write("reading the corpus\nError: test.conll:3: boom\n")
    sys.exit(1)
if command == "train":
    if os.path.exists(option("--model") + ".checkpoint"):
        sys.stderr.write("Error: holds an earlier run's checkpoint\n")
        sys.exit(1)
    header = json.dumps({"slots": [{"rows": 2, "columns": 3}, {"rows": 1, "columns": 4}]})
    with open(option("--model"), "wb") as f:
        f.write(b"TRELLIS\0" + struct.pack("<II", 1, len(header)) + header.encode())
    with open(option("--log"), "w") as f:
        scheme = os.environ.get("FAKE_TRELLIS_SCHEME", "bio")
        f.write(json.dumps({"recipe": {"options": {"epochs": 4},
                                       "configuration": {"scheme": scheme}}}) + "\n")
        f.write(json.dumps({"epoch": 1, "loss": 2.0, "dev_f1": 50.0, "is_best": True,
                            "seconds": 1.0, "tokens_per_second": 100.0}) + "\n")
elif command == "tag":
    sys.stdout.write(open(options[-1]).read())
elif command == "eval":
    correct, found, gold = map(int, os.environ["FAKE_TRELLIS_COUNTS"].split(","))
    print(json.dumps({"f1": 100.0, "correct": correct, "found": found, "phrases": gold}))
'''
GOLD = [["B-X", "I-X", "O"], ["B-Y"]]


def fake_binary_and_corpus(root, gold=GOLD):
    """The stand-in trellis and the corpus "tiny" (its test split: `gold`) under `root`."""
    binary = os.path.join(root, "trellis")
    with open(binary, "w") as f:
        f.write(FAKE_TRELLIS)
    os.chmod(binary, os.stat(binary).st_mode | stat.S_IXUSR)
    corpus = os.path.join(root, "tiny")
    os.makedirs(corpus)
    with open(os.path.join(corpus, "test.conll"), "w") as f:
        f.write("".join("".join(f"w\t{label}\n" for label in s) + "\n" for s in gold))
    return binary, corpus


class RunSystemTests(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        root = self.directory.name
        binary, corpus = fake_binary_and_corpus(root)
        args = argparse.Namespace(bin=binary, quick=False, corpus=corpus, name=None, seeds=1,
                                  epochs=None, git={"commit": "c0ffee"}, command="make eval")
        self.tree = Tree(os.path.join(root, "Eval"))
        self.runner = Runner(args, self.tree)
        self.system = {"name": "sys", "flags": ["--encoder", "rnn"]}

    def tearDown(self):
        self.directory.cleanup()

    def run_system(self, fail="", counts="2,2,2", scheme="bio"):
        environment = {"FAKE_TRELLIS_FAIL": fail, "FAKE_TRELLIS_COUNTS": counts,
                       "FAKE_TRELLIS_SCHEME": scheme}
        with mock.patch.dict(os.environ, environment), \
                contextlib.redirect_stdout(io.StringIO()) as out:
            self.runner.run_system(self.system, 1)
        return read_json(self.tree.results("tiny", "sys-seed1.json")), out.getvalue()

    def test_a_successful_run_keeps_its_numbers_and_predictions(self):
        result, out = self.run_system()
        self.assertEqual(result["status"], "ok")
        self.assertEqual(result["parameters"], 10)
        self.assertEqual((result["best_epoch"], result["epochs_run"], result["epochs_max"]),
                         (1, 1, 4))
        self.assertEqual(result["cores"], 1)
        self.assertEqual(result["tag_tokens"], 4)
        self.assertTrue(result["python_conlleval_agrees"])
        self.assertEqual(read_predictions(self.tree.results("tiny", "sys-seed1.pred.gz")), GOLD)
        self.assertIn("sys-seed1: test FB1 100.00", out)
        self.assertEqual(self.runner.failures, [])

    def test_a_disagreeing_eval_is_flagged(self):
        result, out = self.run_system(counts="2,3,2")
        self.assertFalse(result["python_conlleval_agrees"])
        self.assertIn("WARNING: Python conlleval disagrees with trellis eval", out)

    def test_a_checkpoint_an_interrupted_run_left_is_removed_before_training(self):
        os.makedirs(self.tree.runs("tiny"))
        checkpoint = self.tree.runs("tiny", "sys-seed1.model.checkpoint")
        write_json(checkpoint, {})
        result, _ = self.run_system()
        self.assertEqual(result["status"], "ok")
        self.assertFalse(os.path.exists(checkpoint))

    def test_bioes_data_is_compared_as_eval_counts_it(self):
        """`trellis eval` counts BIOES chunks as their BIO labels' (3 here, where conlleval's
        own rules find 1); BIO's invalid transitions are not counted for such data."""
        self.directory.cleanup()
        self.directory = tempfile.TemporaryDirectory()
        binary, corpus = fake_binary_and_corpus(
            self.directory.name, gold=[["B-X", "E-X", "S-X", "S-X"], ["E-Y"]])
        self.runner = Runner(argparse.Namespace(
            bin=binary, quick=False, corpus=corpus, name=None, seeds=1, epochs=None,
            git={"commit": "c0ffee"}, command="make eval"), self.tree)
        result, out = self.run_system(counts="4,4,4", scheme="bioes")
        self.assertTrue(result["python_conlleval_agrees"])
        self.assertIsNone(result["invalid_bio"])
        self.assertNotIn("WARNING", out)
        self.assertFalse(self.run_system(counts="2,2,2", scheme="bioes")[0][
            "python_conlleval_agrees"])

    def test_each_failing_step_is_recorded_with_its_error(self):
        for step, message, error in (
                ("train", "TRAINING FAILED (exit 1)", "Error: test.conll:3: boom"),
                ("tag", "TAGGING FAILED", "tag: Error: test.conll:3: boom"),
                ("eval", "EVAL FAILED", "eval: Error: test.conll:3: boom")):
            with self.subTest(step):
                self.runner.failures.clear()
                result, out = self.run_system(fail=step)
                self.assertEqual(result["status"], "failed")
                self.assertEqual(result["error"], [error])
                self.assertEqual(self.runner.failures, ["sys-seed1"])
                self.assertIn(f"sys-seed1: {message}: {error}", out)


class RunAllTests(unittest.TestCase):
    """Systems a and b with seed 1 over kept results of an earlier run: seeds 1 and 2 of a and
    of a system since removed, their logs and meta.json."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        root = self.directory.name
        self.binary, self.corpus = fake_binary_and_corpus(root)
        self.tree = Tree(os.path.join(root, "Eval"))
        for name in ("a", "b"):
            write_json(os.path.join(self.tree.directory, "systems", f"{name}.json"),
                       {"configuration": {"encoder": "rnn"}})
        for name in ("a", "removed"):
            for seed in (1, 2):
                write_json(self.tree.results("tiny", f"{name}-seed{seed}.json"),
                           {"system": name, "seed": seed, "status": "ok", "old": True})
                write_json(self.tree.logs("tiny", f"{name}-seed{seed}.jsonl"), {"epoch": 1})
        write_json(self.tree.results("tiny", "meta.json"),
                   {"seeds": 1, "command": "make eval SEEDS=1", "old": True})

    def tearDown(self):
        self.directory.cleanup()

    def kept_files(self):
        """{path under Eval/: contents} of the kept results and logs."""
        files = {}
        for part in ("results", "logs"):
            for directory, _, names in os.walk(os.path.join(self.tree.directory, part)):
                for name in names:
                    path = os.path.join(directory, name)
                    with open(path, "rb") as f:
                        files[os.path.relpath(path, self.tree.directory)] = f.read()
        return files

    def run_all(self, fail="", systems=None):
        args = argparse.Namespace(
            bin=self.binary, quick=False, corpus=self.corpus, name=None, seeds=1, epochs=None,
            git={"commit": "c0ffee"}, systems=systems, jobs=2, skip_exploding=True,
            only_exploding=False, command="make eval")
        environment = {"FAKE_TRELLIS_FAIL": fail, "FAKE_TRELLIS_COUNTS": "2,2,2"}
        with mock.patch.dict(os.environ, environment), \
                mock.patch("trellis_eval.runner.machine_info", return_value={}), \
                contextlib.redirect_stdout(io.StringIO()) as out:
            key, success = run_all(args, self.tree)
        self.assertEqual(key, "tiny")
        return success, out.getvalue()

    def test_a_failing_run_leaves_the_kept_results_as_they_were(self):
        before = self.kept_files()
        success, out = self.run_all(fail="train")
        self.assertFalse(success)
        self.assertEqual(self.kept_files(), before)
        staged = self.tree.staged("tiny")
        self.assertEqual(read_json(staged.results("tiny", "a-seed1.json"))["status"], "failed")
        self.assertIn("kept results unchanged; this run's results and logs are in ", out)

    def test_a_successful_run_replaces_every_kept_result_of_the_corpus(self):
        success, _ = self.run_all()
        self.assertTrue(success)
        self.assertEqual(sorted(self.kept_files()), [
            "logs/tiny/a-seed1.jsonl", "logs/tiny/b-seed1.jsonl", "results/tiny/a-seed1.json",
            "results/tiny/a-seed1.pred.gz", "results/tiny/b-seed1.json",
            "results/tiny/b-seed1.pred.gz", "results/tiny/meta.json"])
        result = read_json(self.tree.results("tiny", "a-seed1.json"))
        self.assertEqual(result["status"], "ok")
        # The command as it can be run again: the log where it is kept, not where it was staged.
        self.assertIn(f" --log {rel(self.tree.logs('tiny', 'a-seed1.jsonl'))} ",
                      result["train_command"])
        self.assertEqual(read_json(self.tree.results("tiny", "meta.json"))["seeds"], 1)
        self.assertFalse(os.path.exists(self.tree.staged("tiny").staging))

    def test_with_systems_only_the_named_systems_results_are_replaced(self):
        success, _ = self.run_all(systems=["a"])
        self.assertTrue(success)
        kept = self.kept_files()
        self.assertIn("results/tiny/removed-seed2.json", kept)
        self.assertIn("logs/tiny/removed-seed2.jsonl", kept)
        self.assertNotIn("results/tiny/a-seed2.json", kept)
        self.assertNotIn("logs/tiny/a-seed2.jsonl", kept)
        self.assertEqual(read_json(self.tree.results("tiny", "a-seed1.json"))["status"], "ok")
        self.assertEqual(read_json(self.tree.results("tiny", "a-seed1.json"))["command"],
                         "make eval")

    def test_a_rerun_of_some_systems_with_other_settings_is_refused(self):
        """The report states one number of seeds and one epoch limit for all its systems."""
        write_json(self.tree.results("tiny", "meta.json"), {"seeds": 2, "command": "make eval"})
        before = self.kept_files()
        success, out = self.run_all(systems=["a"])
        self.assertFalse(success)
        self.assertIn("other settings (--seeds 2 there, 1 here)", out)
        self.assertEqual(self.kept_files(), before)

    def test_the_files_of_an_interrupted_run_do_not_move_in_with_the_next(self):
        write_json(self.tree.staged("tiny").results("tiny", "c-seed1.json"), {"system": "c"})
        self.assertTrue(self.run_all()[0])
        self.assertNotIn("results/tiny/c-seed1.json", self.kept_files())


if __name__ == "__main__":
    unittest.main()
