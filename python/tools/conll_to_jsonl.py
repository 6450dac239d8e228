"""CoNLL sentences as JSON-lines tagging requests with tokens (the first column).

    python3 python/tools/conll_to_jsonl.py Corpora/synthetic/test.conll > test.jsonl

Each sentence becomes {"id": N, "tokens": [...]}, N counting from 1; standard library only, so
`make test` can run it without the package's virtual environment.
"""

import json
import sys
from typing import Iterator, List


def conll_sentences(path: str) -> Iterator[List[str]]:
    """The token column of each blank-line-separated sentence of a CoNLL file."""
    tokens: List[str] = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            fields = line.split()
            if fields:
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
    for number, tokens in enumerate(conll_sentences(sys.argv[1]), start=1):
        print(request_line(number, tokens))


if __name__ == "__main__":
    main()
