"""CoNLL sentences as JSON-lines tagging requests with tokens (the first column).

    python3 python/tools/conll_to_jsonl.py Corpora/synthetic/test.conll > test.jsonl

Each sentence becomes {"id": N, "tokens": [...]}, N counting from 1; standard library only, so
`make test` can run it without the package's virtual environment. It reads a file as `trellis
tag` does, so request N is the file's sentence N: lines end at LF, CRLF or a lone CR, a UTF-8
byte-order mark at the start is skipped, columns are separated by spaces and tabs (not by
other Unicode spaces, which stay inside a token), and a `-DOCSTART-` line ends a sentence and
is left out. A file that is not UTF-8 is refused with `Error: FILE:LINE: what`.
"""

import json
import re
import sys
from typing import Iterator, List

# `trellis`'s column separators: a no-break space or U+2028 inside a token is part of it.
COLUMN_SEPARATORS = re.compile(r"[ \t]+")
DOCUMENT_START = "-DOCSTART-"


class ConversionError(Exception):
    """A file the converter cannot read, as `FILE:LINE: what` or `FILE: what`."""


def lines_of(path: str) -> Iterator[str]:
    """The lines of a file as `trellis` splits a CoNLL file: at LF, CRLF and a lone CR, without
    a byte-order mark at the start; raises ConversionError at a line that is not UTF-8."""
    number = 0
    with open(path, "rb") as file:
        for chunk in file:  # up to and with each LF
            if number == 0 and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            chunk = chunk.removesuffix(b"\n").removesuffix(b"\r")
            for raw in chunk.split(b"\r"):
                number += 1
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ConversionError(f"{path}:{number}: is not valid UTF-8") from None


def conll_sentences(path: str) -> Iterator[List[str]]:
    """The token column of each sentence of a CoNLL file, as `trellis tag` reads them."""
    tokens: List[str] = []
    for line in lines_of(path):
        fields = [field for field in COLUMN_SEPARATORS.split(line) if field]
        if fields and fields[0] != DOCUMENT_START:
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
