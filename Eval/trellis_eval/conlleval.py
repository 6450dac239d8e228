"""Chunk counts of predicted against gold labels, and invalid BIO transitions."""


def split_label(label):
    if label == "O":
        return "O", ""
    tag, _, kind = label.partition("-")
    return (tag, kind) if kind else (label, "")


def _end_of_chunk(prev_tag, tag, prev_type, kind):
    return (prev_tag in ("E", "S")
            or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
            or (prev_tag not in ("O", ".") and prev_type != kind))


def _start_of_chunk(prev_tag, tag, prev_type, kind):
    return (tag in ("B", "S")
            or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
            or (tag not in ("O", ".") and prev_type != kind))


def chunk_counts(gold, guessed):
    """conlleval's (correct chunks, guessed chunks, gold chunks) for one sentence."""
    correct = found_guessed = found_gold = 0
    in_correct = False
    last_gold, last_guess = ("O", ""), ("O", "")
    for g_label, p_label in list(zip(gold, guessed)) + [("O", "O")]:
        g, p = split_label(g_label), split_label(p_label)
        if in_correct:
            g_end = _end_of_chunk(last_gold[0], g[0], last_gold[1], g[1])
            p_end = _end_of_chunk(last_guess[0], p[0], last_guess[1], p[1])
            if g_end and p_end and last_gold[1] == last_guess[1]:
                in_correct = False
                correct += 1
            elif g_end != p_end or g[1] != p[1]:
                in_correct = False
        g_start = _start_of_chunk(last_gold[0], g[0], last_gold[1], g[1])
        p_start = _start_of_chunk(last_guess[0], p[0], last_guess[1], p[1])
        if g_start and p_start and g[1] == p[1]:
            in_correct = True
        found_gold += g_start
        found_guessed += p_start
        last_gold, last_guess = g, p
    return correct, found_guessed, found_gold


def f1_of(correct, found, gold):
    return 200.0 * correct / (found + gold) if found + gold else 0.0


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
