"""A minimal einops stand-in (einsum and repeat with named axes), written for this project so that
auto-circuit's micro-model code runs where the einops package cannot be installed. It covers only
the patterns auto-circuit uses: space-separated axis names, '...' for trailing axes, '->'."""
import string

import torch as t


def _to_letters(patterns):
    names = {}
    letters = iter(string.ascii_letters)

    def convert(part):
        out = []
        for tok in part.split():
            if tok == "...":
                out.append("...")
                continue
            if tok not in names:
                names[tok] = next(letters)
            out.append(names[tok])
        return "".join(out)

    return [convert(p) for p in patterns]


def einsum(*args):
    *tensors, pattern = args
    lhs, rhs = pattern.split("->")
    converted = _to_letters(lhs.split(",") + [rhs])
    return t.einsum(",".join(converted[:-1]) + "->" + converted[-1], *tensors)


def repeat(x, pattern, **sizes):
    lhs, rhs = [p.split() for p in pattern.split("->")]
    y = x.permute([lhs.index(a) for a in rhs if a in lhs])
    for i, axis in enumerate(rhs):
        if axis not in lhs:
            y = y.unsqueeze(i)
    return y.expand(*[sizes[a] if a not in lhs else -1 for a in rhs]).clone()
