"""The options of Eval/run.py and Eval/choose_defaults.py: values that would not run what was
asked are refused before anything runs."""

import contextlib
import io
import json
import os
import tempfile
import unittest
from unittest import mock

import choose_defaults
from trellis_eval.cli import parse_arguments


class Refusals(unittest.TestCase):
    def refused(self, parse, argv):
        """The last line of the usage error `parse(argv)` exits with (argparse's status 2)."""
        with contextlib.redirect_stderr(io.StringIO()) as err, \
                self.assertRaises(SystemExit) as exit:
            parse(argv)
        self.assertEqual(exit.exception.code, 2)
        return err.getvalue().splitlines()[-1]


class RunOptionTests(Refusals):
    def test_counts_below_one_are_refused(self):
        for option in ("--seeds", "--jobs", "--epochs"):
            for value in ("0", "-1"):
                with self.subTest(option=option, value=value):
                    self.assertTrue(self.refused(parse_arguments, [option, value]).endswith(
                        f"error: argument {option}: must be at least 1, not {value}"))

    def test_counts_of_one_and_more_are_taken(self):
        args = parse_arguments(["--seeds", "1", "--jobs", "1", "--epochs", "5"])
        self.assertEqual((args.seeds, args.jobs, args.epochs), (1, 1, 5))

    def test_skipping_and_only_running_the_exploding_runs_are_exclusive(self):
        self.assertIn("argument --only-exploding: not allowed with argument --skip-exploding",
                      self.refused(parse_arguments, ["--skip-exploding", "--only-exploding"]))


class ChooseDefaultsOptionTests(Refusals):
    """choose_defaults.main on candidates "plain" and "small" of a temporary Eval directory,
    with the training itself replaced by a stand-in that records its calls."""

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        os.makedirs(os.path.join(self.directory.name, "defaults"))
        with open(os.path.join(self.directory.name, "defaults", "candidates.json"), "w") as f:
            json.dump({"plain": [], "small": ["--hidden-size", "8"]}, f)
        self.runs = []
        self.version = "0.3.0 (first)"
        patches = [mock.patch.object(choose_defaults, "HERE", self.directory.name),
                   mock.patch.object(choose_defaults, "run", self.run_stand_in),
                   mock.patch.object(choose_defaults, "build_version", lambda: self.version)]
        for patch in patches:
            patch.start()
            self.addCleanup(patch.stop)

    def tearDown(self):
        self.directory.cleanup()

    def run_stand_in(self, corpus, flags, seed, workdir):
        self.runs.append((corpus, flags, seed))
        return {"dev_f1": 90.0, "best_epoch": 1, "epochs": 1, "seconds": 1.0}

    def results(self):
        path = os.path.join(self.directory.name, "defaults", "results.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def test_an_unknown_candidate_is_refused_naming_the_known_ones(self):
        self.assertTrue(self.refused(choose_defaults.main, ["--only", "smal"]).endswith(
            "error: argument --only: invalid choice: 'smal' (choose from 'plain', 'small')"))
        self.assertEqual((self.runs, self.results()), ([], None))

    def test_seeds_below_one_are_refused(self):
        self.assertTrue(self.refused(choose_defaults.main, ["--seeds", "0"]).endswith(
            "error: argument --seeds: must be at least 1, not 0"))
        self.assertEqual((self.runs, self.results()), ([], None))

    def test_only_runs_the_named_candidates(self):
        with contextlib.redirect_stdout(io.StringIO()):
            choose_defaults.main(["--only", "small", "--seeds", "2", "--corpus", "c"])
        self.assertEqual(self.runs, [("c", ["--hidden-size", "8"], 1),
                                     ("c", ["--hidden-size", "8"], 2)])
        self.assertEqual([(r["candidate"], r["mean_dev_f1"]) for r in self.results()],
                         [("small", 90.0)])

    def test_a_run_replaces_only_the_row_of_its_seeds_and_build(self):
        def rows():
            return sorted((r["candidate"], len(r["runs"]), r["trellis"]) for r in self.results())
        with contextlib.redirect_stdout(io.StringIO()):
            choose_defaults.main(["--only", "small", "--seeds", "5", "--corpus", "c"])
            choose_defaults.main(["--only", "small", "--seeds", "3", "--corpus", "c"])
            self.assertEqual(rows(), [("small", 3, "0.3.0 (first)"), ("small", 5, "0.3.0 (first)")])
            choose_defaults.main(["--only", "small", "--seeds", "3", "--corpus", "c"])
            self.assertEqual(rows(), [("small", 3, "0.3.0 (first)"), ("small", 5, "0.3.0 (first)")])
            self.version = "0.3.0 (second)"
            choose_defaults.main(["--only", "small", "--seeds", "3", "--corpus", "c"])
        self.assertEqual(rows(), [("small", 3, "0.3.0 (first)"), ("small", 3, "0.3.0 (second)"),
                                  ("small", 5, "0.3.0 (first)")])


if __name__ == "__main__":
    unittest.main()
