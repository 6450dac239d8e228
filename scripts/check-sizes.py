#!/usr/bin/env python3
"""The size rules `make lint` enforces: no Swift file under Sources/ over 400 lines, no Swift
function there over 60 lines (the tested reference twins aside: they mirror the textbook
recurrences line by line, and tests compare the fast paths against them), no Python file
over 500 lines. Prints each breach and exits 1 if there is any."""
import pathlib
import re
import subprocess
import sys

FILE_LIMIT, FUNCTION_LIMIT, PYTHON_LIMIT = 400, 60, 500
REFERENCE_TWINS = {"referenceViterbi", "forwardBackward"}
FUNCTION = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|"
                      r"mutating|override|final|nonisolated|@inlinable)\s+)*(?:func\s+(\w+)|init\?*\b|(?:var|"
                      r"subscript)\b[^{=]*\{\s*$)")


def swift_functions(lines):
    """(name, first line, length) of every function and initialiser, by brace matching."""
    for start, line in enumerate(lines):
        match = FUNCTION.match(line)
        if not match or "{" not in "".join(lines[start:start + 8]):
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            code = re.sub(r'"(?:\\.|[^"\\])*"|//.*', "", lines[end])
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                yield match.group(1) or line.strip().split("(")[0], start + 1, end - start + 1
                break


def main():
    breaches = []
    for path in sorted(pathlib.Path("Sources").rglob("*.swift")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > FILE_LIMIT:
            breaches.append(f"{path}: {len(lines)} lines (limit {FILE_LIMIT})")
        for name, line, length in swift_functions(lines):
            if length > FUNCTION_LIMIT and name not in REFERENCE_TWINS:
                breaches.append(f"{path}:{line}: {name} is {length} lines (limit {FUNCTION_LIMIT})")
    # The repository's own Python, tracked or new: not pip's copies under python/build/ or a
    # virtual environment's packages, which .gitignore names.
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                              "*.py"], capture_output=True, text=True, check=True).stdout.split()
    for path in map(pathlib.Path, sorted(tracked)):
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > PYTHON_LIMIT:
            breaches.append(f"{path}: {count} lines (limit {PYTHON_LIMIT})")
    print("\n".join(breaches) or "sizes: every file and function within its limit")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
