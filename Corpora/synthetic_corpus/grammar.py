"""The template language: parse a template into nodes and expand it into labelled tokens.
The syntax is described in templates.py."""

import functools
import re

from .fillers import SLOT_FILLERS
from .templates import PHRASES

# Placeholder name -> filler function, or a tuple of phrase templates (a macro).
FILLERS = {**SLOT_FILLERS, **PHRASES}

TOKEN = re.compile(r"\{[^{}]*\}|[\[\]|]|[^\s\[\]|{}]+")


@functools.lru_cache(maxsize=None)
def parse(template):
    """Template -> tuple of nodes: ("word", w), ("slot", kind, role), ("choice", (seq, ...))."""
    tokens = TOKEN.findall(template)
    seq, end = _parse_seq(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unbalanced brackets in {template!r}")
    return seq


def _parse_seq(tokens, i):
    seq = []
    while i < len(tokens) and tokens[i] not in ("|", "]"):
        tok = tokens[i]
        if tok == "[":
            alternatives = []
            while True:
                alt, i = _parse_seq(tokens, i + 1)
                alternatives.append(alt)
                if i >= len(tokens):
                    raise ValueError("unclosed [")
                if tokens[i] == "]":
                    break
            seq.append(("choice", tuple(alternatives)))
        elif tok.startswith("{"):
            kind, _, role = tok[1:-1].partition(":")
            if kind not in FILLERS:
                raise ValueError(f"unknown placeholder {tok}")
            seq.append(("slot", kind, role))
        else:
            seq.append(("word", tok))
        i += 1
    return tuple(seq), i


def expand(template, ctx):
    out = []
    _expand(parse(template), ctx, out)
    return out


def _expand(seq, ctx, out):
    for node in seq:
        if node[0] == "word":
            out.append((node[1], "O"))
        elif node[0] == "choice":
            _expand(ctx.rng.choice(node[1]), ctx, out)
        else:
            filler = FILLERS[node[1]]
            if isinstance(filler, tuple):
                out.extend(expand(ctx.rng.choice(filler), ctx))
            else:
                out.extend(filler(ctx, node[2]))
