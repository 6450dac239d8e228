"""Draw the splits from the templates, check them and write them as CoNLL files."""

import hashlib
from random import Random

from .fillers import Context
from .grammar import expand
from .labels import bio_errors, conll
from .templates import OVERFIT, TEMPLATES
from .vocabulary import TEST_ONLY_CITIES

SEED = 1991

# (split, sentences, share of city mentions drawn from TEST_ONLY_CITIES)
SPLITS = (("train", 4000, 0.0), ("dev", 500, 0.0), ("test", 1000, 0.2))
# The fixtures always use SEED, whatever --seed says: tests depend on their exact content.
TINY_SPLITS = (("train", 40, 0.0), ("dev", 10, 0.0), ("test", 10, 0.2))

TEMPLATE_TEXTS = tuple(t for _, t in TEMPLATES)
CUM_WEIGHTS = tuple(sum(w for w, _ in TEMPLATES[:i + 1]) for i in range(len(TEMPLATES)))


def generate(seed, splits):
    """Return [(split name, sentences)]. Sentences are unique by token sequence
    across all splits, so dev/test never repeat a training sentence verbatim."""
    seen = set()  # membership tests only
    corpus = []
    for name, size, unseen_city_rate in splits:
        rng = Random(f"trellis-synthetic:{seed}:{name}")
        sentences = []
        attempts = 0
        while len(sentences) < size:
            attempts += 1
            if attempts > 100 * size:
                raise RuntimeError(f"{name}: too many duplicate sentences; templates too narrow")
            template = rng.choices(TEMPLATE_TEXTS, cum_weights=CUM_WEIGHTS)[0]
            sentence = expand(template, Context(rng, unseen_city_rate))
            key = tuple(tok for tok, _ in sentence)
            if key not in seen:
                seen.add(key)
                sentences.append(sentence)
        corpus.append((name, sentences))
    return corpus


def contains(tokens, sub):
    n = len(sub)
    return any(tuple(tokens[i:i + n]) == sub for i in range(len(tokens) - n + 1))


def validate(corpus):
    """Fail loudly rather than write a corpus that breaks its documented guarantees."""
    for name, sentences in corpus:
        for sentence in sentences:
            errors = bio_errors(sentence)
            if not sentence or errors:
                raise AssertionError(f"{name}: {' '.join(t for t, _ in sentence)}: {errors}")
    known = [[t for t, _ in s] for name, sents in corpus if name != "test" for s in sents]
    for city in TEST_ONLY_CITIES:
        if any(contains(tokens, tuple(city.split())) for tokens in known):
            raise AssertionError(f"test-only city {city!r} occurs outside test")
    train_vocab = {t for s in dict(corpus)["train"] for t, _ in s}
    if all(t in train_vocab for s in dict(corpus)["test"] for t, _ in s):
        raise AssertionError("test has no word unseen in train")


def write(corpus, directory):
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, sentences in corpus:
        path = directory / f"{name}.conll"
        path.write_bytes(conll(sentences).encode("utf-8"))
        paths.append(path)
    return paths


def write_all(seed, out, tiny_out):
    main = generate(seed, SPLITS)
    tiny = generate(SEED, TINY_SPLITS)
    validate(main)
    validate(tiny)
    paths = write(main, out) + write(tiny, tiny_out)
    overfit = tiny_out / "overfit.conll"
    overfit.write_bytes(conll(OVERFIT).encode("utf-8"))
    return paths + [overfit]


def summary(paths):
    """Markdown table of per-file counts, used to keep README.md up to date."""
    lines = ["| file | sentences | tokens | distinct labels (incl. O) | slot types | sha256 |",
             "|---|---|---|---|---|---|"]
    for path in paths:
        data = path.read_bytes()
        blocks = [b for b in data.decode("utf-8").split("\n\n") if b.strip()]
        labels = [line.split("\t")[1] for b in blocks for line in b.split("\n")]
        distinct = sorted(set(labels))
        types = sorted({l[2:] for l in distinct if l != "O"})
        lines.append(f"| {path.parent.name}/{path.name} | {len(blocks)} | {len(labels)} | "
                     f"{len(distinct)} | {len(types)} | `{hashlib.sha256(data).hexdigest()}` |")
    return "\n".join(lines)
