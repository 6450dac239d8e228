"""Reading and writing the evaluation's files: JSON, training logs, labels, model headers."""

import gzip
import hashlib
import io
import json
import math
import os
import struct


def write_atomically(path, data, mode="w"):
    """Writes `data` to a temporary file beside `path`, then renames it: no half-written file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, mode) as f:
        f.write(data)
    os.replace(temporary, path)


def write_json(path, obj):
    write_atomically(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_jsonl(path):
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line cut short by a crash
    return records


# How `trellis train --log` writes a number that is not finite (JSON has none).
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def split_log(records):
    """(epoch records, step records) of a `trellis train --log [--log-steps]` file, their
    non-finite numbers (written "nan", "inf", "-inf") read back as floats; the first line,
    {"recipe": ...}, is the run's configuration, not a record."""
    records = [{key: _NON_FINITE.get(value, value) if isinstance(value, str) else value
                for key, value in r.items()} for r in records if "recipe" not in r]
    return [r for r in records if "step" not in r], [r for r in records if "step" in r]


def _sentences(lines, label_of):
    """Groups non-blank lines into sentences of `label_of(line)`; blank lines separate them."""
    sentences, current = [], []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if current:
                sentences.append(current)
                current = []
            continue
        current.append(label_of(line))
    if current:
        sentences.append(current)
    return sentences


def read_conll_labels(path):
    """Sentences as lists of last-column labels (tokens are not needed)."""
    with open(path, encoding="utf-8") as f:
        return _sentences(f, lambda line: line.split("\t")[-1] if "\t" in line
                          else line.split()[-1])


def read_predictions(path):
    """The sentences of a .pred.gz file: one label per line, a blank line after each sentence."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return _sentences(f, lambda line: line)


def write_predictions(path, sentences):
    text = "".join("".join(label + "\n" for label in s) + "\n" for s in sentences)
    compressed = io.BytesIO()
    # mtime 0 and no file name: the same predictions give the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0) as f:
        f.write(text.encode("utf-8"))
    write_atomically(path, compressed.getvalue(), mode="wb")


def model_header(path):
    """The JSON header of a Trellis model file: 8-byte magic, uint32 version, uint32 length."""
    with open(path, "rb") as f:
        head = f.read(16)
        if len(head) < 16 or head[:8] != b"TRELLIS\0":
            raise ValueError(f"{path}: not a Trellis model file")
        _version, length = struct.unpack("<II", head[8:16])
        return json.loads(f.read(length))


def parameter_count(path):
    return sum(slot["rows"] * slot["columns"] for slot in model_header(path)["slots"])


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
