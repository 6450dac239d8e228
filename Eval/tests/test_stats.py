"""Means over seeds and the paired bootstrap."""

import array
import random
import unittest

from trellis_eval.conlleval import chunk_counts, f1_of
from trellis_eval.stats import bootstrap, mean_std


def corpus(sentences, seed=3):
    """`sentences` gold sentences of one or two chunks, and a guess that gets about half of
    them wrong (a wrong type or a chunk cut short), at random."""
    rng = random.Random(seed)
    gold, noisy = [], []
    for _ in range(sentences):
        kind = rng.choice("XY")
        g = [f"B-{kind}", f"I-{kind}", "O"] + (["B-Z"] if rng.random() < 0.5 else [])
        p = list(g)
        if rng.random() < 0.5:
            p[0], p[1] = ("B-Z", "I-Z") if rng.random() < 0.5 else (p[0], "O")
        gold.append(g)
        noisy.append(p)
    return gold, noisy


def reference_bootstrap(gold, predictions, baseline, resamples, seed):
    """The paired bootstrap as its docstring and Eval/RESULTS.md state it, written plainly: the
    same draws (n 32-bit words of `random.Random(seed).randbytes`, each modulo n, per
    resample), each resample's chunk counts summed sentence by sentence, and the 95% interval
    as the central resampled deltas, 2.5% of the resamples left out on each side."""
    n = len(gold)
    counts = {name: [[sum(chunk_counts(g, run[i])[k] for run in runs) for k in range(3)]
                     for i, g in enumerate(gold)]
              for name, runs in predictions.items()}

    def f1(name, indices):
        return f1_of(*(sum(counts[name][i][k] for i in indices) for k in range(3)))

    rng = random.Random(seed)
    deltas = {name: [] for name in predictions}
    for _ in range(resamples):
        indices = [word % n for word in array.array("I", rng.randbytes(4 * n))]
        for name in predictions:
            deltas[name].append(f1(name, indices) - f1(baseline, indices))
    tests = {}
    left_out = int(0.025 * resamples)
    for name in predictions:
        delta = f1(name, range(n)) - f1(baseline, range(n))
        extreme = sum(1 for d in deltas[name] if abs(d - delta) >= abs(delta))
        ordered = sorted(deltas[name])
        tests[name] = (delta, (extreme + 1) / (resamples + 1), ordered[left_out],
                       ordered[resamples - 1 - left_out])
    return tests


class MeanStdTests(unittest.TestCase):
    def test_sample_standard_deviation_ignoring_none(self):
        mean, std = mean_std([1.0, None, 3.0])
        self.assertEqual(mean, 2.0)
        self.assertAlmostEqual(std, 2 ** 0.5)
        self.assertEqual(mean_std([5]), (5, 0.0))
        self.assertEqual(mean_std([None]), (None, None))


class BootstrapTests(unittest.TestCase):
    resamples = 2000

    def test_identical_systems_are_not_different(self):
        gold, noisy = corpus(60)
        tests, observed = bootstrap(gold, {"base": [noisy], "copy": [list(noisy)]}, "base",
                                    resamples=self.resamples)
        delta, p, low, high = tests["copy"]
        self.assertEqual((delta, low, high), (0.0, 0.0, 0.0))
        self.assertEqual(p, 1.0)
        self.assertEqual(observed["copy"], observed["base"])

    def test_a_system_better_on_every_sentence_is_significant(self):
        gold = corpus(60)[0]
        # The baseline misses the first chunk of every sentence; the system gets all right.
        base = [["O", "O"] + g[2:] for g in gold]
        tests, observed = bootstrap(gold, {"base": [base], "perfect": [gold]}, "base",
                                    resamples=self.resamples)
        delta, p, low, high = tests["perfect"]
        self.assertEqual(observed["perfect"], 100.0)
        self.assertGreater(delta, 0)
        self.assertLess(p, 0.01)
        self.assertAlmostEqual(p, 1 / (self.resamples + 1))
        self.assertTrue(0 < low <= delta <= high)
        self.assertEqual(tests["base"][:1], (0.0,))

    def test_a_difference_on_one_sentence_is_not_significant(self):
        gold, noisy = corpus(40)
        wrong = next(i for i, (g, p) in enumerate(zip(gold, noisy)) if g != p)
        fixed = noisy[:wrong] + [gold[wrong]] + noisy[wrong + 1:]
        tests, _ = bootstrap(gold, {"base": [noisy], "fixed": [fixed]}, "base",
                             resamples=self.resamples)
        delta, p, low, high = tests["fixed"]
        self.assertGreater(delta, 0)
        # Resamples without that sentence (about (39/40)^40 = 36%) have a delta of 0.
        self.assertEqual(low, 0.0)
        self.assertGreater(p, 0.3)

    def test_equals_the_plain_reference(self):
        gold, noisy = corpus(30)
        half = [g if i % 2 else p for i, (g, p) in enumerate(zip(gold, noisy))]
        predictions = {"base": [noisy, half], "better": [half, gold], "same": [noisy, half]}
        tests, _ = bootstrap(gold, predictions, "base", resamples=400, seed=5)
        self.assertEqual(tests, reference_bootstrap(gold, predictions, "base", 400, 5))
        delta, _, low, high = tests["better"]
        self.assertTrue(low < delta < high, tests["better"])

    def test_deterministic_under_a_seed(self):
        gold, noisy = corpus(50)
        predictions = {"base": [noisy], "perfect": [gold]}
        first = bootstrap(gold, predictions, "base", resamples=500, seed=11)
        self.assertEqual(bootstrap(gold, predictions, "base", resamples=500, seed=11), first)
        self.assertNotEqual(bootstrap(gold, predictions, "base", resamples=500, seed=12)[0],
                            first[0])

    def test_runs_are_pooled_by_summing_chunk_counts(self):
        gold = [["B-X"], ["B-X"]]
        # Two seeds: one right on sentence 1 only, one right on both; pooled 3 of 4 correct.
        runs = [[["B-X"], ["B-Y"]], [["B-X"], ["B-X"]]]
        _, observed = bootstrap(gold, {"base": runs}, "base", resamples=10)
        self.assertAlmostEqual(observed["base"], 200.0 * 3 / (4 + 4))

    def test_one_sentence(self):
        tests, observed = bootstrap([["B-X"]], {"base": [[["O"]]], "good": [[["B-X"]]]}, "base",
                                    resamples=10)
        self.assertEqual(observed, {"base": 0.0, "good": 100.0})
        self.assertEqual(tests["good"], (100.0, 1 / 11, 100.0, 100.0))


if __name__ == "__main__":
    unittest.main()
