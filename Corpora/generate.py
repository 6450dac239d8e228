#!/usr/bin/env python3
"""Generate Trellis's SYNTHETIC ATIS-style flight-query slot-filling corpus.

Every sentence is a hand-written template filled from small vocabularies;
none is a real user query. Output is CoNLL-style: one `token<TAB>label` line
per token, IOB2 labels with ATIS slot-type names, a blank line after every
sentence.

    python3 Corpora/generate.py                  # rewrite Corpora/synthetic and Corpora/tiny
    python3 Corpora/generate.py --seed 7 --out /tmp/syn
    python3 Corpora/generate.py --check          # exit 1 if the committed files are stale

The word lists, templates and generation code are in synthetic_corpus/.

Determinism: all randomness comes from random.Random instances seeded with
strings (a str seed is hashed with SHA-512, not with Python's randomised
hash()), and no output depends on set or hash ordering, so a seed always
yields the same bytes.
"""

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from synthetic_corpus.corpus import SEED, summary, write_all

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"corpus seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=HERE / "synthetic",
                        help="directory for train/dev/test.conll (default Corpora/synthetic)")
    parser.add_argument("--tiny-out", type=Path, default=HERE / "tiny",
                        help="directory for the test fixtures (default Corpora/tiny); always seed "
                             f"{SEED}")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and exit 1 if any file "
                             "differs from the one in --out / --tiny-out")
    args = parser.parse_args()

    if not args.check:
        print(summary(write_all(args.seed, args.out, args.tiny_out)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_all(args.seed, Path(tmp) / "synthetic", Path(tmp) / "tiny")
        committed_dirs = {"synthetic": args.out, "tiny": args.tiny_out}
        stale = []
        for path in fresh:
            committed = committed_dirs[path.parent.name] / path.name
            if not committed.is_file() or not filecmp.cmp(path, committed, shallow=False):
                stale.append(committed)
                print(f"differs: {committed}", file=sys.stderr)
    if stale:
        print("regenerate with: python3 Corpora/generate.py", file=sys.stderr)
        return 1
    print("ok: generated corpus matches the committed files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
