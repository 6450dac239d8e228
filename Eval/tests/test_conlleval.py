"""The chunk counting against hand-worked examples and conlleval.pl's own golden outputs."""

import glob
import os
import re
import unittest

from trellis_eval.conlleval import (ConllCounts, bio_equivalents, chunk_counts, invalid_bio,
                                    split_label)
from trellis_eval.layout import ROOT

# Reports produced by conlleval.pl (2004-01-26); Tests/ConllEvalTests/GoldenTests.swift says how.
GOLDEN = os.path.join(ROOT, "Tests", "ConllEvalTests", "Golden")
PROCESSED = re.compile(r"processed (\d+) tokens with (\d+) phrases; found: (\d+) phrases; "
                       r"correct: (\d+)\.")


def conlleval_input(text):
    """Feeds conlleval input lines (fields split at single spaces, the last two gold and guessed;
    a blank line or first field "-X-" is a boundary) to a fresh ConllCounts."""
    counts = ConllCounts()
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        fields = line.split(" ")
        while fields and fields[-1] == "":  # Perl's split drops trailing empty fields
            fields.pop()
        if not fields or fields[0] == "-X-":
            counts.add_boundary()
        else:
            counts.add_token(fields[-2], fields[-1])
    return counts


class SplitLabelTests(unittest.TestCase):
    def test_splits_at_the_first_hyphen_as_conlleval_does(self):
        self.assertEqual(split_label("B-toloc.city_name"), ("B", "toloc.city_name"))
        self.assertEqual(split_label("I-a-b"), ("I", "a-b"))
        self.assertEqual(split_label("O"), ("O", ""))
        self.assertEqual(split_label("B-"), ("B", ""))
        self.assertEqual(split_label("-X"), ("", "X"))
        self.assertEqual(split_label("B-0"), ("B", ""))  # Perl: "0" is false


class HandWorkedTests(unittest.TestCase):
    def test_bio(self):
        # Gold chunks X[0,2) Y[3,4); guessed X[0,2) X[3,4): one correct of two each.
        self.assertEqual(chunk_counts(["B-X", "I-X", "O", "B-Y"], ["B-X", "I-X", "O", "B-X"]),
                         (1, 2, 2))
        # A guessed chunk one token too short is not correct.
        self.assertEqual(chunk_counts(["B-X", "I-X"], ["B-X", "O"]), (0, 1, 1))
        self.assertEqual(chunk_counts(["O", "O"], ["O", "O"]), (0, 0, 0))

    def test_iob1(self):
        # I- after O starts a chunk; B- separates two chunks of one type.
        self.assertEqual(chunk_counts(["I-X", "I-X", "B-X"], ["I-X", "I-X", "B-X"]), (2, 2, 2))
        self.assertEqual(chunk_counts(["I-X", "I-X", "B-X"], ["I-X", "I-X", "I-X"]), (0, 1, 2))

    def test_type_change_ends_and_starts_a_chunk(self):
        self.assertEqual(chunk_counts(["B-X", "I-Y"], ["B-X", "I-Y"]), (2, 2, 2))

    def test_iobes_keeps_conllevals_merging(self):
        # No conlleval rule ends a chunk after S-X, and E→B starts none, so adjacent chunks of one
        # type merge; IOBES-aware scorers would count 2 here.
        self.assertEqual(chunk_counts(["S-X", "S-X"], ["S-X", "S-X"]), (1, 1, 1))
        self.assertEqual(chunk_counts(["B-X", "E-X", "B-X", "E-X"], ["B-X", "E-X", "B-X", "E-X"]),
                         (1, 1, 1))
        # Of different types they stay apart.
        self.assertEqual(chunk_counts(["S-X", "S-Y"], ["S-X", "S-Y"]), (2, 2, 2))
        # E→E and E→I end one chunk and start another.
        self.assertEqual(chunk_counts(["E-X", "E-X", "I-X"], ["E-X", "E-X", "I-X"]), (3, 3, 3))
        # Gold S-X S-X (one chunk for conlleval) against guessed B-X E-X (one chunk): correct.
        self.assertEqual(chunk_counts(["S-X", "S-X"], ["B-X", "E-X"]), (1, 1, 1))

    def test_brackets_are_one_token_chunks_and_dot_starts_none(self):
        self.assertEqual(chunk_counts(["[-NP", "[-NP"], ["[-NP", "]-NP"]), (2, 2, 2))
        self.assertEqual(chunk_counts([".-X", ".-X"], [".-X", "O"]), (0, 0, 0))

    def test_sentence_boundary_closes_chunks(self):
        counts = ConllCounts()
        counts.add(["B-X", "I-X"], ["B-X", "I-X"])
        counts.add(["I-X"], ["I-X"])  # I- after the boundary starts a new chunk
        self.assertEqual(counts.counts(), (2, 2, 2))
        self.assertEqual((counts.tokens, counts.correct_tokens), (3, 3))

    def test_a_matched_chunk_open_at_the_end_counts_as_correct(self):
        counts = ConllCounts()
        counts.add_token("B-X", "B-X")
        self.assertEqual(counts.counts(), (1, 1, 1))

    def test_sentence_alone_differs_from_the_stream_only_for_chunks_open_across_a_boundary(self):
        # "." ends nothing, so conlleval keeps the matched X chunk open across the blank line;
        # the next sentence's type mismatch then drops it. Scored alone, it stays correct.
        first, second = ([["B-X", ".-X"], ["B-X", ".-X"]], [["I-X"], ["B-Y"]])
        stream = ConllCounts()
        stream.add(*first)
        stream.add(*second)
        self.assertEqual(stream.counts(), (0, 2, 2))
        self.assertEqual(chunk_counts(*first), (1, 1, 1))

    def test_mismatched_lengths_are_refused(self):
        with self.assertRaises(ValueError):
            chunk_counts(["B-X", "O"], ["B-X"])


class GoldenTests(unittest.TestCase):
    def test_every_golden_file_gives_conllevals_counts(self):
        names = sorted(glob.glob(os.path.join(GOLDEN, "*.conll")))
        self.assertGreaterEqual(len(names), 15)
        for path in names:
            if os.path.exists(path[:-len(".conll")] + ".args"):
                continue  # recorded with options (-d, -r, -o, -l) this chunker does not take
            with self.subTest(os.path.basename(path)):
                with open(path, "rb") as f:
                    # conlleval was run on crlf_bom and cr_line_ends with LF line ends and no
                    # byte order mark.
                    text = f.read().decode("utf-8").removeprefix("\ufeff")
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                with open(path[:-len(".conll")] + ".expected", encoding="utf-8") as f:
                    tokens, phrases, found, correct = map(int, PROCESSED.match(f.read()).groups())
                counts = conlleval_input(text)
                self.assertEqual((counts.tokens, counts.gold, counts.found, counts.correct),
                                 (tokens, phrases, found, correct))


class InvalidBioTests(unittest.TestCase):
    def test_counts_each_kind_of_invalid_i(self):
        counts = invalid_bio([["I-X", "O", "I-X", "B-Y", "I-X"], ["B-X", "I-X"], []])
        self.assertEqual(counts, {"sentences": 1, "transitions": 3, "after_o": 1,
                                  "after_other_type": 1, "at_start": 1})


class BioEquivalentsTests(unittest.TestCase):
    """The BIO labels of BIOES labels' chunks, as `convert(_:from:to:)` of
    Sources/ConllEval/TagScheme.swift writes them (every run of BIOES data checks them against
    `trellis eval`: the runner's `python_conlleval_agrees`)."""

    def test_each_chunk_starts_with_b_and_ends_where_bioes_ends_it(self):
        for bioes, bio in (
                (["S-X", "S-X"], ["B-X", "B-X"]),
                (["B-X", "E-X", "B-X", "E-X"], ["B-X", "I-X", "B-X", "I-X"]),
                (["B-X", "I-X", "I-X", "E-X", "O"], ["B-X", "I-X", "I-X", "I-X", "O"]),
                (["I-X", "E-X", "E-X"], ["B-X", "I-X", "B-X"]),
                (["B-X", "I-Y", "E-Y"], ["B-X", "B-Y", "I-Y"]),
                (["O", "E-X", "S-Y", "I-Y"], ["O", "B-X", "B-Y", "B-Y"]),
                (["B-X", "NN", "I-X"], ["B-X", "NN", "B-X"]),
                (["B-", "X", "S-é"], ["B-", "X", "B-é"])):
            with self.subTest(bioes):
                self.assertEqual(bio_equivalents(bioes), bio)


if __name__ == "__main__":
    unittest.main()
