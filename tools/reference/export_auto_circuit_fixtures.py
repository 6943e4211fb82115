#!/usr/bin/env python3
"""Export reference numbers computed by auto-circuit itself, for AutoCircuit for .NET's parity tests.

Usage (see tools/reference/README.md):
    PYTHONPATH=tools/reference/shims:<auto-circuit checkout> \
        python3 tools/reference/export_auto_circuit_fixtures.py --out tests/Fixtures/auto-circuit

Every input (datasets, masks) is generated here from fixed seeds; every expected number is the
output of auto-circuit's own functions (patchable_model, src_ablations, load_datasets_from_json,
prune algorithms, run_circuits). Nothing of auto-circuit's repository is copied into the output.
"""
import argparse
import json
import math
import os
import random
import subprocess
import tempfile
from pathlib import Path

import acstubs  # noqa: F401  (must come before auto_circuit imports)
import torch as t

from auto_circuit.data import load_datasets_from_json
from auto_circuit.model_utils.micro_model_utils import MicroModel
from auto_circuit.prune_algos.activation_magnitude import activation_magnitude_prune_scores
from auto_circuit.types import AblationType
from auto_circuit.utils.ablation_activations import src_ablations
from auto_circuit.utils.graph_utils import patch_mode, patchable_model

ABLATIONS = {
    AblationType.RESAMPLE: "resample",
    AblationType.ZERO: "zero",
    AblationType.TOKENWISE_MEAN_CLEAN: "tokenwise-mean-clean",
    AblationType.TOKENWISE_MEAN_CORRUPT: "tokenwise-mean-corrupt",
    AblationType.TOKENWISE_MEAN_CLEAN_AND_CORRUPT: "tokenwise-mean-clean-and-corrupt",
    AblationType.BATCH_TOKENWISE_MEAN: "batch-tokenwise-mean",
    AblationType.BATCH_ALL_TOK_MEAN: "batch-all-tok-mean",
}


def micro_dataset(n_prompts, seed, varied=True):
    """Our own micro-model dataset in auto-circuit's JSON format (prompts of 3 tokens x 2 dims)."""
    rng = random.Random(seed)
    prompts = []
    for i in range(n_prompts):
        if varied:
            clean = [[round(rng.uniform(-3, 3), 2) for _ in range(2)] for _ in range(3)]
            corrupt = [[round(rng.uniform(-3, 3), 2) for _ in range(2)] for _ in range(3)]
            answer = rng.randrange(2)
        else:
            clean = [[3.0, 3.0], [2.0, 2.0], [1.0, 1.0]]
            corrupt = [[-3.0, -3.0], [-2.0, -2.0], [-1.0, -1.0]]
            answer = 1
        prompts.append(
            {"clean": clean, "corrupt": corrupt, "answers": [answer], "wrong_answers": [1 - answer]}
        )
    return {"prompts": prompts}


def to_list(x):
    return x.detach().cpu().double().tolist()


def graph_info(model):
    srcs = sorted(model.srcs, key=lambda s: s.src_idx)
    dests = sorted(model.dests, key=lambda d: (d.layer, d.module_name, d.head_idx or 0))
    return {
        "srcs": [
            {"name": s.name, "module": s.module_name, "layer": s.layer, "src_idx": s.src_idx,
             "head_idx": s.head_idx}
            for s in srcs
        ],
        "dests": [
            {"name": d.name, "module": d.module_name, "layer": d.layer, "head_idx": d.head_idx,
             "min_src_idx": d.min_src_idx}
            for d in dests
        ],
        "mask_shapes": {m: list(p.shape) for m, p in sorted(model.patch_masks.items())},
        "n_edges": model.n_edges,
        "edges": sorted(
            [e.name, e.seq_idx, list(e.patch_idx)] for e in model.edges
        ) if model.n_edges < 500 else None,
    }


def write_dataset(data):
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(data, f)
    f.close()
    return Path(f.name)


def loaders(path, batch_size, train, test, shuffle, seed):
    return load_datasets_from_json(
        None, path, device=t.device("cpu"), prepend_bos=False, batch_size=batch_size,
        train_test_size=(train, test), shuffle=shuffle, random_seed=seed,
    )


def prompt_index(data, clean_tensor):
    target = clean_tensor.double()
    for i, p in enumerate(data["prompts"]):
        if t.allclose(t.tensor(p["clean"], dtype=t.float64), target, atol=1e-6):
            return i
    raise ValueError("prompt not found")


def export_graphs_and_patching(out):
    data = micro_dataset(8, seed=1)
    path = write_dataset(data)
    cases = []
    for factorized in [True, False]:
        for seq_len in [None, 3]:
            model = patchable_model(MicroModel(n_layers=2), factorized=factorized,
                                    slice_output="last_seq", seq_len=seq_len, separate_qkv=True)
            train, _ = loaders(path, 4, 4, 4, shuffle=False, seed=42)
            batch = next(iter(train))
            case = {"factorized": factorized, "seq_len": seq_len, "graph": graph_info(model)}
            # Source ablations of every batch-wise type, and dataset means over the 2 batches of 2.
            abl = {}
            for at, name in ABLATIONS.items():
                if at.mean_over_dataset:
                    small, _ = loaders(path, 2, 4, 4, shuffle=False, seed=42)
                    abl[name] = to_list(src_ablations(model, small, at))
                else:
                    abl[name] = to_list(src_ablations(model, batch.clean, at))
            case["src_ablations"] = abl
            with t.inference_mode():
                case["clean_out"] = to_list(model(batch.clean))
                case["corrupt_out"] = to_list(model(batch.corrupt))
            # Patched forward with seeded random masks, ablating with the corrupt outputs.
            gen = t.Generator().manual_seed(7)
            masks = {}
            for mod, mask in sorted(model.patch_masks.items()):
                values = t.rand(mask.shape, generator=gen)
                mask.data = values.clone()
                masks[mod] = to_list(values)
            patch = src_ablations(model, batch.corrupt, AblationType.RESAMPLE)
            with patch_mode(model, patch), t.inference_mode():
                case["patched_out"] = to_list(model(batch.clean))
            case["masks"] = masks
            case["dataset"] = data
            case["batch_prompts"] = [prompt_index(data, c) for c in batch.clean]
            cases.append(case)
    (out / "micro_graphs_and_patching.json").write_text(json.dumps({"cases": cases}, indent=1))


def export_activation_magnitude(out):
    scenarios = []
    specs = [
        # (dataset seed, prompts, varied, factorized, seq_len, batch_size, train, test, shuffle, seed)
        (0, 1000, False, True, None, 1, 1, 1, True, 42),   # auto-circuit's own micro input shape
        (0, 1000, False, True, 3, 1, 1, 1, True, 42),
        (0, 1000, False, False, None, 1, 1, 1, True, 42),
        (2, 12, True, True, None, 1, 1, 1, True, 42),
        (2, 12, True, True, 3, 1, 1, 1, True, 42),
        (2, 12, True, False, None, 1, 1, 1, True, 42),
        (3, 20, True, True, None, 2, 6, 4, True, 42),
        (3, 20, True, False, None, 2, 6, 4, True, 7),
        (3, 20, True, True, 3, 3, 9, 3, False, 42),
        (3, 20, True, False, 3, 2, 5, 5, True, 123),  # 5 with batch 2: drop_last keeps 2 batches
    ]
    for ds_seed, n, varied, factorized, seq_len, bs, train_n, test_n, shuffle, seed in specs:
        data = micro_dataset(n, ds_seed, varied)
        path = write_dataset(data)
        model = patchable_model(MicroModel(n_layers=2), factorized=factorized,
                                slice_output="last_seq", seq_len=seq_len, separate_qkv=True)
        train, test = loaders(path, bs, train_n, test_n, shuffle, seed)
        scores = activation_magnitude_prune_scores(model, train, None)
        per_batch_means = []
        for batch in train:
            outs = src_ablations(model, batch.clean, AblationType.RESAMPLE)
            per_batch_means.append(to_list(outs.mean(dim=list(range(1, outs.ndim)))))
        scenarios.append({
            "dataset": data if n <= 20 else {"generator": "constant", "prompts_count": n},
            "factorized": factorized, "seq_len": seq_len, "batch_size": bs,
            "train_size": train_n, "test_size": test_n, "shuffle": shuffle, "seed": seed,
            # Identical prompts cannot be told apart: no split order to compare then.
            "train_prompts": [[prompt_index(data, c) for c in b.clean] for b in train] if varied else None,
            "test_prompts": [[prompt_index(data, c) for c in b.clean] for b in test] if varied else None,
            "src_means_per_batch": per_batch_means,
            "scores": {m: to_list(s) for m, s in sorted(scores.items())},
        })
    (out / "micro_activation_magnitude.json").write_text(json.dumps({"scenarios": scenarios}, indent=1))


def export_python_shuffle(out):
    cases = []
    for seed, n in [(42, 10), (42, 1000), (7, 20), (123, 20), (0, 5), (2**40 + 3, 17)]:
        items = list(range(n))
        random.seed(seed)
        random.shuffle(items)
        cases.append({"seed": seed, "n": n, "order": items})
    (out / "python_random_shuffle.json").write_text(json.dumps({"cases": cases}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t.manual_seed(0)
    export_graphs_and_patching(args.out)
    export_activation_magnitude(args.out)
    export_python_shuffle(args.out)
    import auto_circuit.types
    root = Path(auto_circuit.types.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except Exception:  # a plain copy without .git
        commit = os.environ.get("AUTO_CIRCUIT_COMMIT", "unknown")
    meta = {"auto_circuit_commit": commit, "torch": t.__version__,
            "generator": "tools/reference/export_auto_circuit_fixtures.py"}
    (args.out / "README.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
