"""Labelled tokens: a sentence is a list of (token, IOB2 label) pairs."""


def words(text):
    return [(w, "O") for w in text.split()]


def span(text, slot):
    toks = text.split()
    return [(toks[0], "B-" + slot)] + [(w, "I-" + slot) for w in toks[1:]]


def bio_errors(sentence):
    """What makes the sentence invalid IOB2 or its tokens unusable; empty when it is fine."""
    errors = []
    prev = "O"
    for tok, label in sentence:
        if not tok or tok != tok.lower() or any(c.isspace() for c in tok):
            errors.append(f"bad token {tok!r}")
        if label.startswith("I-") and prev[2:] != label[2:]:
            errors.append(f"{label} after {prev} at {tok!r}")
        elif label != "O" and not label.startswith(("B-", "I-")):
            errors.append(f"bad label {label}")
        prev = label
    return errors


def conll(sentences):
    """One `token<TAB>label` line per token and a blank line after every sentence."""
    return "".join("".join(f"{t}\t{l}\n" for t, l in s) + "\n" for s in sentences)
