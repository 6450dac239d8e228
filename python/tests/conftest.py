"""Fixtures: a model trained on the shipped corpus by the release CLI, the CLI's answers, and
a spaCy pipeline with the model, with sentences' gold entities to check its answers against.

TRELLIS_CLI names the `trellis` binary (default: `make build`'s, as `make -s bin-path` names
it); TRELLIS_TEST_MODEL, when set, is used instead of training one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import pytest
import spacy
from spacy.tokens import Doc

import trellis

REPOSITORY = Path(__file__).resolve().parents[2]
CORPUS = REPOSITORY / "Corpora" / "synthetic"
sys.path.insert(0, str(REPOSITORY / "python" / "tools"))

from conll_to_jsonl import conll_sentences  # noqa: E402  (the C test's converter)
from release_binary import release_binary  # noqa: E402


def cli_path() -> Path:
    return release_binary(REPOSITORY)


def run_cli(*arguments: str, stdin: bytes = b"") -> bytes:
    """The CLI's standard output; fails the test with its standard error otherwise."""
    done = subprocess.run(
        [str(cli_path()), *arguments], input=stdin, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache of the session's own (`from_bytes` and `spacy.load` write to it), for the
    tests and the processes they start, rather than the user's `~/.cache`."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A BiLSTM-CRF trained for 8 epochs on the shipped corpus (about 10 s in release)."""
    if os.environ.get("TRELLIS_TEST_MODEL"):
        return os.environ["TRELLIS_TEST_MODEL"]
    path = tmp_path_factory.mktemp("model") / "synthetic.model"
    run_cli(
        "train", "--train", str(CORPUS / "train.conll"), "--dev", str(CORPUS / "dev.conll"),
        "--model", str(path), "--epochs", "8", "--character-filters", "0", "--seed", "1",
        "--quiet",
    )
    return str(path)


def serve_binary() -> Path:
    return Path(os.environ.get("TRELLIS_SERVE", REPOSITORY / ".build" / "release" / "trellis-serve"))


@contextmanager
def served(model_path: str, *flags: str) -> Iterator[str]:
    """A trellis-serve of `model_path` on a free loopback port, started with `flags`; yields
    its URL."""
    process = subprocess.Popen(
        [str(serve_binary()), "--model", model_path, "--port", "0", *flags],
        stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on " in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def server(model_path: str) -> Iterator[str]:
    """A trellis-serve of the test model refusing requests of more than 30 sentences or 300
    n-best labels."""
    with served(model_path, "--max-sentences", "30", "--max-nbest-labels", "300") as url:
        yield url


@pytest.fixture(scope="session")
def tagger(model_path: str) -> trellis.Tagger:
    return trellis.Tagger(model_path)


@pytest.fixture(scope="session")
def test_sentences() -> List[List[str]]:
    """The shipped test split's sentences (1,000, 12,841 tokens)."""
    return list(conll_sentences(str(CORPUS / "test.conll")))


# Sentences in the corpus's style with their gold entities (text, label), written by hand.
GOLD = {
    "show me flights from boston to denver on monday": [
        ("boston", "fromloc.city_name"), ("denver", "toloc.city_name"),
        ("monday", "depart_date.day_name"),
    ],
    "i want to fly from dallas to san francisco": [
        ("dallas", "fromloc.city_name"), ("san francisco", "toloc.city_name"),
    ],
    "list flights to atlanta": [("atlanta", "toloc.city_name")],
}


@pytest.fixture()
def nlp(model_path: str) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("trellis_tagger", config={"model": model_path})
    return nlp


def entities(doc: Doc) -> list:
    return [(entity.text, entity.label_) for entity in doc.ents]
