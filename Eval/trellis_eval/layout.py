"""Where the evaluation reads and writes its files, and the defaults every part shares."""

import os
import sys

EVAL = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(EVAL)
sys.path.insert(0, os.path.join(ROOT, "python", "tools"))
from release_binary import path_from_make, release_binary  # noqa: E402 (path set above)

# $TRELLIS_CLI, or `make build`'s binary, whose path the Makefile holds (`make -s bin-path`).
DEFAULT_BIN = str(release_binary(ROOT))
# The real benchmark, read in place from outside the repository (never copied into it), and the
# shipped corpus of smoke runs: paths relative to ROOT, the directory every run works in.
ATIS_CORPUS = path_from_make(ROOT, "atis-path")
QUICK_CORPUS = path_from_make(ROOT, "shipped-corpus-path")
QUICK_FLAGS = ["--embedding-size", "32", "--hidden-size", "32"]
QUICK_EPOCHS = 2
MAX_CORES = 2  # never more than two trellis processes at once


def rel(path):
    return os.path.relpath(path, ROOT)


class Tree:
    """The files under one Eval directory (Eval/ itself, or a test's temporary copy).

    `key` is a results key: the corpus directory's name ("atis"), "-quick" for smoke runs, or
    "exploding"/"exploding-quick" for the exploding-gradient experiment. A staged tree (staged())
    has its results/ and logs/ in a `staging` directory instead.
    """

    def __init__(self, directory=EVAL, staging=None):
        self.directory = directory
        self.staging = staging

    def results(self, key, *names):
        """Eval/results/<key>/: the runs' numbers, predictions and meta.json (kept)."""
        return os.path.join(self.staging or self.directory, "results", key, *names)

    def logs(self, key, *names):
        """Eval/logs/<key>/: the training logs (kept: the plots come from them)."""
        return os.path.join(self.staging or self.directory, "logs", key, *names)

    def staged(self, key):
        """This tree with results/ and logs/ in Eval/runs/<key>/staged/ (git-ignored): a run
        writes them there and moves them in only when every run succeeded, so an interrupted or
        failing run leaves the kept ones as they were."""
        return Tree(self.directory, self.runs(key, "staged"))

    def kept(self, path):
        """Where `path`, a file of a staged tree's results/ or logs/, is kept; other paths as
        they are."""
        if self.staging and path.startswith(self.staging + os.sep):
            return os.path.join(self.directory, os.path.relpath(path, self.staging))
        return path

    def runs(self, key, *names):
        """Eval/runs/<key>/: models and full tagger output (git-ignored)."""
        return os.path.join(self.directory, "runs", key, *names)

    def plots(self, *names):
        return os.path.join(self.directory, "plots", *names)

    def report(self, key):
        return os.path.join(self.directory, "RESULTS.md" if key == "atis" else f"RESULTS-{key}.md")

    def system_configs(self):
        return os.path.join(self.directory, "systems", "*.json")

    def exploding_config(self):
        return os.path.join(self.directory, "exploding.json")


def corpus_key(corpus, quick, name=None):
    key = name or os.path.basename(os.path.normpath(corpus))
    return f"{key}-quick" if quick and not key.endswith("-quick") else key


def exploding_key(quick):
    return "exploding-quick" if quick else "exploding"
