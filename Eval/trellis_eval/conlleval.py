"""conlleval.pl's chunk counting (version 2004-01-26, the script Sources/ConllEval reproduces).

This is conlleval's own algorithm, rule for rule, not a chunker of a tag scheme: labels are split
as conlleval splits them, chunks start and end by its `startOfChunk` / `endOfChunk` tables, and a
chunk is correct by its `$inCorrect` bookkeeping. Those tables have rules for B, I, E, O, "[", "]"
and "." but none for S, so IOBES input keeps conlleval's quirks: "S-X S-X" and
"B-X E-X B-X E-X" each count as one chunk, exactly as `trellis score` counts them
(Tests/ConllEvalTests/Golden/iobes.*; Eval/tests/test_conlleval.py checks every golden file).
`trellis eval` and training's dev F1 count the chunks of BIOES data instead, as the BIO labels
of the same chunks (`bio_equivalents`), which is what a model's spans hold.
"""

OUTSIDE = ("O", "")  # what conlleval reads for a boundary line and before the first line

# (previous prefix, current prefix) pairs that end / start a chunk whatever the types.
_ENDS = {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
_STARTS = {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}


def split_label(label):
    """(prefix, type) as conlleval reads a label: split at the first "-" (its
    /^([^-]*)-(.*)$/), so "B-toloc-city" has type "toloc-city"; without "-" the whole label is the
    prefix and the type is "". Perl's `$type ? $type : ""` also turns the type "0" into ""."""
    prefix, dash, kind = label.partition("-")
    if not dash:
        return label, ""
    return prefix, "" if kind == "0" else kind


def end_of_chunk(previous, current):
    """conlleval's endOfChunk for (prefix, type) pairs: B→B, B→O, I→B, I→O, E→E, E→I, E→O, a
    change of type after anything but "O" and ".", and any tag after the one-token "[" / "]"."""
    if (previous[0], current[0]) in _ENDS or previous[0] in ("[", "]"):
        return True
    return previous[0] not in ("O", ".") and previous[1] != current[1]


def start_of_chunk(previous, current):
    """conlleval's startOfChunk: B→B, I→B, O→B, O→I, E→E, E→I, O→E, a change of type to anything
    but "O" and ".", and every "[" / "]"."""
    if (previous[0], current[0]) in _STARTS or current[0] in ("[", "]"):
        return True
    return current[0] not in ("O", ".") and previous[1] != current[1]


class ConllCounts:
    """conlleval's counters over a stream of lines: `gold` chunks ("phrases"), `found` (guessed)
    chunks and `correct` chunks, plus tokens and correctly labelled tokens."""

    def __init__(self):
        self.gold = self.found = self.tokens = self.correct_tokens = 0
        self._ended_correct = 0
        self._in_correct = False  # conlleval's $inCorrect: a chunk matched so far is open
        self._last_gold = self._last_guessed = OUTSIDE

    @property
    def correct(self):
        """Correct chunks; one still open at the end of the input counts, as in conlleval."""
        return self._ended_correct + self._in_correct

    def counts(self):
        """(correct, found, gold): the numbers of conlleval's "processed ..." line."""
        return self.correct, self.found, self.gold

    def add(self, gold, guessed):
        """One sentence's labels followed by the blank line after it."""
        if len(gold) != len(guessed):
            raise ValueError(f"{len(gold)} gold labels but {len(guessed)} guessed labels")
        for gold_label, guessed_label in zip(gold, guessed):
            self.add_token(gold_label, guessed_label)
        self.add_boundary()

    def add_token(self, gold_label, guessed_label):
        gold, guessed = split_label(gold_label), split_label(guessed_label)
        self._step(gold, guessed)
        self.tokens += 1
        self.correct_tokens += gold == guessed

    def add_boundary(self):
        """A blank line or a "-X-" line: gold and guessed "O", not a token."""
        self._step(OUTSIDE, OUTSIDE)

    def _step(self, gold, guessed):
        """The body of conlleval's main loop, without the token counting."""
        last_gold, last_guessed = self._last_gold, self._last_guessed
        if self._in_correct:
            gold_ends = end_of_chunk(last_gold, gold)
            guessed_ends = end_of_chunk(last_guessed, guessed)
            if gold_ends and guessed_ends and last_guessed[1] == last_gold[1]:
                self._in_correct = False
                self._ended_correct += 1
            elif gold_ends != guessed_ends or guessed[1] != gold[1]:
                self._in_correct = False
        gold_starts = start_of_chunk(last_gold, gold)
        guessed_starts = start_of_chunk(last_guessed, guessed)
        if gold_starts and guessed_starts and guessed[1] == gold[1]:
            self._in_correct = True
        self.gold += gold_starts
        self.found += guessed_starts
        self._last_gold, self._last_guessed = gold, guessed


def chunk_counts(gold, guessed):
    """(correct, found, gold) of one sentence scored alone, as conlleval scores a file holding
    only that sentence. Summed over sentences this is conlleval's count of the whole file, except
    when a matched chunk stays open across a blank line, which takes a "."-prefixed or typeless
    odd label (never BIO or IOBES labels with types)."""
    counts = ConllCounts()
    counts.add(gold, guessed)
    return counts.counts()


def f1_of(correct, found, gold):
    return 200.0 * correct / (found + gold) if found + gold else 0.0


def _scheme_label(label):
    """(prefix, type) of "O" or a BIOES chunk label (a prefix B, I, E or S, "-" and a type), or
    None for any other label, as Sources/ConllEval/TagScheme.swift's SchemeLabel reads them."""
    if label == "O":
        return "O", ""
    if len(label) >= 3 and label[0] in "BIES" and label[1] == "-":
        return label[0], label[2:]
    return None


def bio_equivalents(labels):
    """The BIO labels of the chunks BIOES `labels` hold, as `trellis eval` and training's dev F1
    count BIOES data (`TaggerModel.countedLabels`): E-X and S-X end a chunk, an I-X or E-X that
    continues no open chunk of its type starts one, and a label that is neither "O" nor a chunk
    label (a part-of-speech tag) stays as it is and ends any open chunk."""
    result = list(labels)
    open_type = None
    for index, label in enumerate(labels):
        tag = _scheme_label(label)
        if tag is None or tag[0] == "O":
            open_type = None
            continue
        prefix, kind = tag
        continues = prefix in "IE" and open_type == kind
        result[index] = ("I-" if continues else "B-") + kind
        open_type = None if prefix in "ES" else kind
    return result


def invalid_bio(sentences):
    """I-X after O, after another type, or at sentence start, in predicted label sequences."""
    counts = {"sentences": 0, "transitions": 0, "after_o": 0, "after_other_type": 0,
              "at_start": 0}
    for labels in sentences:
        bad = 0
        previous = None
        for label in labels:
            tag, kind = split_label(label)
            if tag == "I":
                if previous is None:
                    counts["at_start"] += 1
                    bad += 1
                elif previous[0] == "O":
                    counts["after_o"] += 1
                    bad += 1
                elif previous[1] != kind:
                    counts["after_other_type"] += 1
                    bad += 1
            previous = (tag, kind)
        counts["transitions"] += bad
        counts["sentences"] += bad > 0
    return counts
