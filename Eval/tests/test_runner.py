"""One system's run (train, tag, score) against a stand-in for the trellis binary."""

import argparse
import contextlib
import io
import os
import stat
import tempfile
import unittest
from unittest import mock

from trellis_eval.files import read_json, read_predictions
from trellis_eval.layout import Tree
from trellis_eval.runner import Runner

# Fails the subcommand named by FAKE_TRELLIS_FAIL; otherwise trains a one-epoch "model" with a
# valid header (2x3 + 1x4 parameters), tags every token with its gold label and reports the
# eval counts of FAKE_TRELLIS_COUNTS (correct, found, gold).
FAKE_TRELLIS = r'''#!/usr/bin/env python3
import json, os, struct, sys
command, options = sys.argv[1], sys.argv[2:]
def option(name):
    return options[options.index(name) + 1]
if command == os.environ.get("FAKE_TRELLIS_FAIL"):
    sys.stderr.write("reading the corpus\nError: test.conll:3: boom\n")
    sys.exit(1)
if command == "train":
    header = json.dumps({"slots": [{"rows": 2, "columns": 3}, {"rows": 1, "columns": 4}]})
    with open(option("--model"), "wb") as f:
        f.write(b"TRELLIS\0" + struct.pack("<II", 1, len(header)) + header.encode())
    with open(option("--log"), "w") as f:
        f.write(json.dumps({"recipe": {"options": {"epochs": 4}}}) + "\n")
        f.write(json.dumps({"epoch": 1, "loss": 2.0, "dev_f1": 50.0, "is_best": True,
                            "seconds": 1.0, "tokens_per_second": 100.0}) + "\n")
elif command == "tag":
    sys.stdout.write(open(options[-1]).read())
elif command == "eval":
    correct, found, gold = map(int, os.environ["FAKE_TRELLIS_COUNTS"].split(","))
    print(json.dumps({"f1": 100.0, "correct": correct, "found": found, "phrases": gold}))
'''
GOLD = [["B-X", "I-X", "O"], ["B-Y"]]


class RunSystemTests(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        root = self.directory.name
        binary = os.path.join(root, "trellis")
        with open(binary, "w") as f:
            f.write(FAKE_TRELLIS)
        os.chmod(binary, os.stat(binary).st_mode | stat.S_IXUSR)
        corpus = os.path.join(root, "tiny")
        os.makedirs(corpus)
        with open(os.path.join(corpus, "test.conll"), "w") as f:
            f.write("".join("".join(f"w\t{label}\n" for label in s) + "\n" for s in GOLD))
        args = argparse.Namespace(bin=binary, quick=False, corpus=corpus, name=None, seeds=1,
                                  epochs=None, git={"commit": "c0ffee"})
        self.tree = Tree(os.path.join(root, "Eval"))
        self.runner = Runner(args, self.tree)
        self.system = {"name": "sys", "flags": ["--encoder", "rnn"]}

    def tearDown(self):
        self.directory.cleanup()

    def run_system(self, fail="", counts="2,2,2"):
        environment = {"FAKE_TRELLIS_FAIL": fail, "FAKE_TRELLIS_COUNTS": counts}
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


if __name__ == "__main__":
    unittest.main()
