"""Means over seeds and the paired bootstrap between systems."""

import array
import itertools
import operator
import random
import statistics

from .conlleval import chunk_counts, f1_of

BOOTSTRAP_RESAMPLES = 10000
BOOTSTRAP_SEED = 20240601


def mean_std(values):
    """(mean, sample standard deviation) of the values that are not None; (None, None) for none;
    the deviation of a single value is 0."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _packed_counts(gold, predictions):
    """Per system, one integer per sentence: correct << 2·bits | found << bits | gold, the
    sentence's chunk counts summed over the system's runs; and `bits`. Packing makes a
    resample's totals one C-level sum per system; `bits` holds any sum of n sentences' counts."""
    n = len(gold)
    columns = []  # per system: [correct, found, gold], each a list of n per-sentence counts
    largest = 1
    for runs in predictions.values():
        counts = [[0] * n, [0] * n, [0] * n]
        for run in runs:
            for i, (g, p) in enumerate(zip(gold, run)):
                for k, value in enumerate(chunk_counts(g, p)):
                    counts[k][i] += value
        columns.append(counts)
        largest = max([largest] + [max(column, default=0) for column in counts])
    bits = (n * largest).bit_length() + 1
    packed = [[(c << 2 * bits) | (f << bits) | g for c, f, g in zip(*counts)]
              for counts in columns]
    return packed, bits


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
    packed, bits = _packed_counts(gold, predictions)
    mask = (1 << bits) - 1

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
        indices = map(operator.mod, words, itertools.repeat(n))
        # itemgetter of one index returns the item, not a 1-tuple; one sentence is all index 0.
        pick = operator.itemgetter(*indices) if n > 1 else (lambda column: column)
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
