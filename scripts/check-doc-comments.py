#!/usr/bin/env python3
"""Lists the public symbols that have no doc comment, from symbol graphs (`make docs` passes
the ones swift-docc-plugin extracted). Each is printed as FILE:LINE: kind name; exit 1 if any.

A symbol the compiler made (a synthesized `hashValue`) has no place in the source to put a
comment and is skipped; one that implements a documented protocol requirement (`==`,
`encode(to:)`) carries that requirement's documentation and counts as documented.
"""
import json
import os
import sys


def undocumented(path):
    with open(path, encoding="utf-8") as file:
        graph = json.load(file)
    for symbol in graph["symbols"]:
        location = symbol.get("location")
        if location is None or "docComment" in symbol:
            continue
        source = os.path.relpath(location["uri"].removeprefix("file://"))
        yield (source, location["position"]["line"] + 1, symbol["kind"]["displayName"].lower(),
               ".".join(symbol["pathComponents"]))


def main(paths):
    if not paths:
        sys.exit("usage: check-doc-comments.py SYMBOL_GRAPH.json...")
    missing = sorted({entry for path in paths for entry in undocumented(path)})
    for source, line, kind, name in missing:
        print(f"{source}:{line}: {kind} {name} has no doc comment")
    if missing:
        sys.exit(f"{len(missing)} public symbols have no doc comment")


if __name__ == "__main__":
    main(sys.argv[1:])
