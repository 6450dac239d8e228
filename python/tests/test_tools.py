"""The tools beside the package run: `make python-bench` is not in CI, and once took a handle
the API had changed under it (a context manager, not an integer) and crashed in ctypes."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import CORPUS, REPOSITORY, cli_path, run_cli


def convert(conll, check: bool = False) -> subprocess.CompletedProcess:
    """conll_to_jsonl.py run on `conll`, its output and errors captured as text."""
    return subprocess.run(
        [sys.executable, str(REPOSITORY / "python" / "tools" / "conll_to_jsonl.py"), str(conll)],
        capture_output=True, text=True, check=check)


def tag(model_path: str, conll) -> subprocess.CompletedProcess:
    """`trellis tag` run on `conll`, its output and errors captured as text."""
    return subprocess.run(
        [str(cli_path()), "tag", "--model", model_path, str(conll)], capture_output=True,
        text=True, check=False)


def test_the_python_bench_runs_one_round(model_path: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "python" / "tools" / "bench.py"),
         str(CORPUS / "test.conll"), "--model", model_path, "--repetitions", "1"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["rounds"] == 1
    assert all(figures[f"{name}_tokens_per_second"] > 0
               for name in ("swift", "tokens_call", "jsonl_call", "python", "python_spans"))


def test_the_converter_reads_the_sentences_the_cli_tags(tmp_path, model_path: str) -> None:
    """conll_to_jsonl.py's request N is the file's sentence N as `trellis tag` reads it. It
    once made requests of -DOCSTART- lines (and merged the sentences around one without a
    blank line), kept a byte-order mark in the first token and split tokens at no-break
    spaces and other Unicode whitespace, so ids and tokens drifted from the CLI's."""
    conll = tmp_path / "mixed.conll"
    conll.write_bytes(
        b"\xef\xbb\xbfflights\tO\nfrom O\n\n-DOCSTART- -X- O\n\nnew\xc2\xa0york\tO\n"
        b"to\tO\r\n-DOCSTART-\tO\nx\x1cy\tO\nb\xe2\x80\xa8c O\n \t \nd O\re O\r\r\nf O\n")
    converted = convert(conll, check=True).stdout.split("\n")[:-1]
    # Lines end at LF alone: str.splitlines would also split at the U+2028 inside a token.
    tagged = run_cli("tag", "--model", model_path, "--format", "json", str(conll))
    expected = [json.loads(line)["tokens"] for line in tagged.decode().split("\n")[:-1]]
    assert [json.loads(line) for line in converted] == [
        {"id": number, "tokens": tokens} for number, tokens in enumerate(expected, start=1)]
    assert len(expected) == 5 and expected[1] == ["new\xa0york", "to"]


def test_the_converter_refuses_what_the_cli_refuses_at_the_same_line(
        tmp_path, model_path: str) -> None:
    conll = tmp_path / "latin1.conll"
    conll.write_bytes(b"a O\n\rb O\n\xe9t\xe9 O\n")
    converted = convert(conll)
    tagged = tag(model_path, conll)
    assert converted.returncode == 1 and tagged.returncode != 0
    hint = "; if the file is Latin-1, convert it: iconv -f ISO-8859-1 -t UTF-8"
    assert converted.stderr == f"Error: {conll}:4: is not valid UTF-8{hint}\n"
    assert tagged.stderr.startswith(f"Error: {conll}:4: is not valid UTF-8{hint}\n")
    # UTF-16 and UTF-32, whose ASCII is valid UTF-8 with NULs in it without a byte-order mark
    # (the converter made one sentence of NUL-laden tokens of them), are named as the CLI names
    # them; NUL-separated UTF-8 fields of one character are no UTF-16.
    for encoding in ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"]:
        conll.write_bytes("flights O\nto O\n\n".encode(encoding))
        converted = convert(conll)
        tagged = tag(model_path, conll)
        assert converted.returncode == 1 and tagged.returncode != 0, encoding
        assert "is not valid UTF-8 but UTF-" in converted.stderr, encoding
        assert converted.stderr == tagged.stderr, encoding
    # A line of more or fewer columns than the first token line's (a token with a space in
    # it) is refused where the CLI refuses it: the converter kept its first column, and the
    # request lost the rest of the token.
    for text, line, found in [("fly\tO\n\nto boston\tO\n", 3, 3), ("a O\nb\n", 2, 1)]:
        conll.write_text(text)
        converted = convert(conll)
        tagged = tag(model_path, conll)
        expected = f"Error: {conll}:{line}: expected 2 columns as on line 1, found {found}\n"
        assert converted.returncode == 1 and tagged.returncode != 0
        assert converted.stderr == expected and tagged.stderr.startswith(expected.rstrip("\n"))
    conll.write_bytes(b".\x00O\x00O\n\n")
    converted = convert(conll, check=True)
    assert json.loads(converted.stdout) == {"id": 1, "tokens": [".\x00O\x00O"]}
