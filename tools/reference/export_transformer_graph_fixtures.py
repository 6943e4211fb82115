#!/usr/bin/env python3
"""Export auto-circuit's transformer graphs (nodes and edge counts) for AutoCircuit for .NET's tests.

auto-circuit builds the graph of a TransformerLens model from `model.cfg` alone
(model_utils/transformer_lens_utils.py and utils/graph_utils.graph_edges). TransformerLens is not
installed here, so this script hands those functions a stand-in HookedTransformer that only has a
`cfg`; every node and count in the output is computed by auto-circuit's own code.

Usage (from the repository root):
    PYTHONPATH=tools/reference/shims:<auto-circuit checkout> \
        python3 tools/reference/export_transformer_graph_fixtures.py --out tests/Fixtures/auto-circuit
"""
import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import acstubs  # noqa: F401  (must come before auto_circuit imports)

import auto_circuit.utils.graph_utils as graph_utils
from auto_circuit.utils.graph_utils import graph_edges


def stand_in(n_layers, n_heads, attn_only=False, parallel=False):
    # The stub class graph_utils checks with isinstance; its __init__ is never run.
    model = object.__new__(graph_utils.HookedTransformer)
    model.cfg = SimpleNamespace(
        n_layers=n_layers, n_heads=n_heads, attn_only=attn_only, parallel_attn_mlp=parallel,
        use_attn_result=True, use_hook_mlp_in=True, use_split_qkv_input=True, use_attn_in=True,
    )
    return model


def describe(model, factorized, separate_qkv, with_nodes):
    try:
        _, srcs, dests, _, edges, _, _ = graph_edges(model, factorized, separate_qkv)
        _, _, _, _, seq_edges, _, _ = graph_edges(model, factorized, separate_qkv, seq_len=3)
    except AssertionError as e:
        return {"error": f"AssertionError {e}".strip()}
    out = {"n_srcs": len(srcs), "n_dests": len(dests), "n_edges": len(edges), "n_edges_seq3": len(seq_edges)}
    if with_nodes:
        out["srcs"] = [
            {"name": s.name, "module": s.module_name, "layer": s.layer, "src_idx": s.src_idx,
             "head_idx": s.head_idx, "head_dim": s.head_dim}
            for s in sorted(srcs, key=lambda s: s.src_idx)
        ]
        out["dests"] = [
            {"name": d.name, "module": d.module_name, "layer": d.layer, "head_idx": d.head_idx,
             "head_dim": d.head_dim, "min_src_idx": d.min_src_idx}
            for d in sorted(dests, key=lambda d: (d.layer, d.module_name, d.head_idx or 0))
        ]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/Fixtures/auto-circuit")
    args = ap.parse_args()
    configs = [
        ("small", dict(n_layers=2, n_heads=3), True),
        ("attn-only", dict(n_layers=2, n_heads=2, attn_only=True), True),
        ("parallel", dict(n_layers=2, n_heads=2, parallel=True), True),
        ("gpt2-small", dict(n_layers=12, n_heads=12), False),
    ]
    result = {}
    for name, cfg, with_nodes in configs:
        model = stand_in(**cfg)
        result[name] = {
            "config": cfg,
            "factorized_separate_qkv": describe(model, True, True, with_nodes),
            "factorized_attn_in": describe(model, True, False, with_nodes),
            "residual": describe(model, False, None, with_nodes),
        }
    path = Path(args.out) / "transformer_graphs.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(path, {k: v["factorized_separate_qkv"].get("n_edges") for k, v in result.items()})


if __name__ == "__main__":
    main()
