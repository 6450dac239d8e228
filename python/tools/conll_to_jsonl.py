"""CoNLL sentences as JSON-lines tagging requests with tokens (the first column).

    python3 python/tools/conll_to_jsonl.py Corpora/synthetic/test.conll > test.jsonl

Each sentence becomes {"id": N, "tokens": [...]}, N counting from 1; standard library only, so
`make test` can run it without the package's virtual environment. It reads a file as `trellis
tag` does, so request N is the file's sentence N: lines end at LF, CRLF or a lone CR, a UTF-8
byte-order mark at the start is skipped, columns are separated by spaces and tabs (not by
other Unicode spaces, which stay inside a token), every token line must have the first one's
columns, and a `-DOCSTART-` line ends a sentence and is left out. A file that is not UTF-8
is refused with `Error: FILE:LINE: what`, one in UTF-16 or UTF-32 named as such, as
`trellis` names it.
"""

import json
import re
import sys
from typing import Iterator, List, Optional, Tuple

# `trellis`'s column separators: a no-break space or U+2028 inside a token is part of it.
COLUMN_SEPARATORS = re.compile(r"[ \t]+")
DOCUMENT_START = "-DOCSTART-"


class ConversionError(Exception):
    """A file the converter cannot read, as `FILE:LINE: what` or `FILE: what`."""


def wide_encoding(line: bytes) -> Optional[Tuple[str, str]]:
    """The UTF-16 or UTF-32 encoding (as iconv names it) that a file's first line (without its
    line end) shows, and how, as `trellis`'s LineReader tells them: by a byte-order mark, or
    by the NULs beside ASCII characters, which make valid UTF-8 full of NULs; UTF-16 needs
    them beside both of the first two characters and a line of whole code units before its
    line feed's byte (an even count in UTF-16LE, odd in UTF-16BE). None for none."""
    b = (line[:4] + b"\xff" * 4)[:4]
    def ascii(byte: int) -> bool:
        return 1 <= byte <= 0x7F
    def nulls(encoding: str) -> str:
        return f"its first characters have the NUL bytes of {encoding} without a byte-order mark"
    even = len(line) % 2 == 0
    if b in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32", "it starts with UTF-32's byte-order mark"
    if b[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16", "it starts with UTF-16's byte-order mark"
    if b[:3] == b"\x00\x00\x00" and ascii(b[3]):
        return "UTF-32BE", nulls("UTF-32BE")
    if ascii(b[0]) and b[1:] == b"\x00\x00\x00":
        return "UTF-32LE", nulls("UTF-32LE")
    if (b[0] == 0 and ascii(b[1]) and b[2] == 0
            and ((ascii(b[3]) and not even) or (b[3] == 0xFF and len(line) == 3))):
        return "UTF-16BE", nulls("UTF-16BE")
    if ascii(b[0]) and b[1] == 0 and ((ascii(b[2]) and b[3] == 0 and even)
                                      or (b[2:] == b"\xff\xff" and len(line) == 2)):
        return "UTF-16LE", nulls("UTF-16LE")
    return None


def lines_of(path: str) -> Iterator[Tuple[int, str]]:
    """The lines of a file, numbered from 1, as `trellis` splits a CoNLL file: at LF, CRLF and
    a lone CR, without a byte-order mark at the start; raises ConversionError at a line that is
    not UTF-8."""
    number = 0
    with open(path, "rb") as file:
        for chunk in file:  # up to and with each LF
            if number == 0 and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            chunk = chunk.removesuffix(b"\n").removesuffix(b"\r")
            for raw in chunk.split(b"\r"):
                number += 1
                wide = wide_encoding(raw) if number == 1 else None
                if wide is not None:
                    raise ConversionError(
                        f"{path}:1: is not valid UTF-8 but {wide[0]} ({wide[1]}); convert it: "
                        f"iconv -f {wide[0]} -t UTF-8")
                try:
                    yield number, raw.decode("utf-8")
                except UnicodeDecodeError:
                    # As `invalidUTF8Refusal` in Sources/Trellis/Data/LineReader.swift.
                    latin1 = all(byte < 0x80 or byte >= 0xA0 for byte in raw)
                    hint = ("; if the file is Latin-1, convert it: iconv -f ISO-8859-1 -t UTF-8"
                            if latin1 else "")
                    raise ConversionError(f"{path}:{number}: is not valid UTF-8{hint}") from None


def conll_sentences(path: str) -> Iterator[List[str]]:
    """The token column of each sentence of a CoNLL file, as `trellis tag` reads them: every
    token line has the first one's columns (raises ConversionError at one that has not: a
    token with a space in it, which the request would have cut short)."""
    tokens: List[str] = []
    first: Optional[Tuple[int, int]] = None  # the first token line's columns and number
    for number, line in lines_of(path):
        fields = [field for field in COLUMN_SEPARATORS.split(line) if field]
        if fields and fields[0] != DOCUMENT_START:
            if first is None:
                first = (len(fields), number)
            elif len(fields) != first[0]:
                raise ConversionError(
                    f"{path}:{number}: expected {first[0]} columns as on line {first[1]}, "
                    f"found {len(fields)}")
            tokens.append(fields[0])
        elif tokens:
            yield tokens
            tokens = []
    if tokens:
        yield tokens


def request_line(number: int, tokens: List[str]) -> str:
    """One request, in the compact form `trellis tag --input jsonl` reads."""
    return json.dumps({"id": number, "tokens": tokens}, ensure_ascii=False, separators=(",", ":"))


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: conll_to_jsonl.py FILE.conll > FILE.jsonl")
    path = sys.argv[1]
    try:
        for number, tokens in enumerate(conll_sentences(path), start=1):
            print(request_line(number, tokens))
        sys.stdout.flush()
    except ConversionError as error:
        sys.exit(f"Error: {error}")
    except BrokenPipeError:
        # A reader that stopped early (`| head`) wants nothing more. Standard output is pointed
        # at /dev/null so that Python's own flush at exit does not fail on the pipe again.
        sys.stdout = open("/dev/null", "w")
        sys.exit(1)
    except OSError as error:
        # Opening or reading the file names it; a failed write to standard output names none.
        sys.exit(f"Error: {error.filename or 'standard output'}: {error.strerror}")


if __name__ == "__main__":
    main()
