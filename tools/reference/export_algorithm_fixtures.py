#!/usr/bin/env python3
"""Export auto-circuit's prune-algorithm scores on the micro model, for AutoCircuit for .NET's parity tests.

Usage:
    PYTHONPATH=tools/reference/shims:<auto-circuit checkout> \
        python3 tools/reference/export_algorithm_fixtures.py --out tests/Fixtures/auto-circuit

Inputs (datasets, known circuits, options) are generated here; every score is the output of
auto-circuit's own prune functions (mask_gradient, ACDC, subnetwork_probing, circuit_probing,
random_edges). Options are written in our kebab-case spec form so that the tests bind them through
the generated registry. Nothing of auto-circuit's repository is copied into the output.

Three things are pinned down here so that the runs are reproducible; none changes what an algorithm
computes:
- Destination modules: auto-circuit keeps its destination wrappers (and so `patch_masks`) in a Python
  set, whose order follows object ids. It is the order in which `random` draws per-module numbers and
  in which subnetwork probing concatenates masks before sampling the regulariser. We list them in our
  graph order (by layer).
- ACDC's edge order: auto-circuit sorts `model.edges` (a set) by destination layer, stably, so the order
  within a layer is set order. We hand it the edges in our documented order (see `acdc_order`).
- DataLoader seeds: every iteration of a torch DataLoader draws a worker seed from torch's global
  generator. Our loaders are lists, so the exported loaders get a generator of their own and the global
  stream carries only the algorithms' own draws (HardConcrete samples, dropout).
"""
import argparse
import importlib
import json
import math
from pathlib import Path

import acstubs  # noqa: F401  (must come before auto_circuit imports)
import torch as t

from export_auto_circuit_fixtures import loaders, micro_dataset, to_list, write_dataset

from auto_circuit.model_utils.micro_model_utils import MicroModel
from auto_circuit.prune_algos.ACDC import acdc_prune_scores
from auto_circuit.prune_algos.circuit_probing import circuit_probing_prune_scores
from auto_circuit.prune_algos.mask_gradient import mask_gradient_prune_scores
from auto_circuit.prune_algos.random_edges import random_prune_scores
from auto_circuit.prune_algos.subnetwork_probing import subnetwork_probing_prune_scores
from auto_circuit.types import AblationType
from auto_circuit.utils.graph_utils import patchable_model

# torch 1.13 deletes the `adam` submodule attribute from torch.optim; auto-circuit calls t.optim.adam.Adam.
t.optim.adam = importlib.import_module("torch.optim.adam")

ABLATION_BY_NAME = {
    "resample": AblationType.RESAMPLE,
    "zero": AblationType.ZERO,
    "tokenwise-mean-clean": AblationType.TOKENWISE_MEAN_CLEAN,
    "tokenwise-mean-corrupt": AblationType.TOKENWISE_MEAN_CORRUPT,
    "tokenwise-mean-clean-and-corrupt": AblationType.TOKENWISE_MEAN_CLEAN_AND_CORRUPT,
    "batch-tokenwise-mean": AblationType.BATCH_TOKENWISE_MEAN,
    "batch-all-tok-mean": AblationType.BATCH_ALL_TOK_MEAN,
}
BATCH_SPECIFIC = {"resample", "batch-tokenwise-mean", "batch-all-tok-mean"}


def snake(kebab):
    return kebab.replace("-", "_")


def dest_module_layer(model, module_name):
    return min(d.layer for d in model.dests if d.module_name == module_name)


def build(data, factorized, seq_len, bs, train_n, test_n, shuffle=True, seed=42, float_answers=False):
    """A micro patchable model and its train loader, with the orders pinned (see the module docstring)."""
    path = write_dataset(data)
    model = patchable_model(MicroModel(n_layers=2), factorized=factorized, slice_output="last_seq",
                            seq_len=seq_len, separate_qkv=True)
    wrappers = sorted(model.dest_wrappers, key=lambda w: dest_module_layer(model, w.module_name))
    model.dest_wrappers = wrappers
    model.patch_masks = {w.module_name: w.patch_mask for w in wrappers}
    train, _ = loaders(path, bs, train_n, test_n, shuffle, seed)
    train.generator = t.Generator()
    if float_answers:
        # auto-circuit's mse objectives pass the int64 answer ids to mse_loss, whose backward pass
        # rejects them; float ids give the same loss and a gradient (what we compute).
        inner = train.collate_fn

        def float_collate(items):
            batch = inner(items)
            object.__setattr__(batch, "answers", batch.answers.float())
            return batch

        train.collate_fn = float_collate
    return model, train


def scores_json(model, scores):
    """Scores per destination module in graph order; +inf (ACDC's kept edges) written as "inf"."""
    return {module: encode_inf(scores[module].detach().cpu().double().tolist()) for module in model.patch_masks}


def encode_inf(values):
    if isinstance(values, list):
        return [encode_inf(v) for v in values]
    return "inf" if math.isinf(values) else values


DATASETS = {}


def dataset(name, data):
    """Registers a generated dataset under a name; scenarios refer to it by name."""
    DATASETS[name] = data
    return data


def dataset_name(data):
    return next(name for name, d in DATASETS.items() if d is data)


def scenario_base(data, factorized, seq_len, bs, train_n, test_n, shuffle=True, seed=42):
    return {"dataset": dataset_name(data), "factorized": factorized, "seq_len": seq_len, "batch_size": bs,
            "train_size": train_n, "test_size": test_n, "shuffle": shuffle, "seed": seed}


def small_dataset(n, seed):
    """Inputs in [-0.1, 0.1]: logits of a few units, where softmax and exp neither saturate nor overflow
    (on the [-3, 3] inputs the micro model's logits reach ~150: exp overflows float32 and softmax is flat)."""
    data = micro_dataset(n, seed)
    for p in data["prompts"]:
        for key in ("clean", "corrupt"):
            p[key] = [[round(v / 30, 3) for v in tok] for tok in p[key]]
    return data


def multi_answer_dataset(n, seed):
    """Two answers per prompt (rectangular), so answer means cover more than one output."""
    data = micro_dataset(n, seed)
    for p in data["prompts"]:
        a = p["answers"][0]
        p["answers"] = [a, a]
    return data


# ---------------------------------------------------------------------------------------------- #
def export_mask_gradient(out):
    varied = dataset("varied-20", micro_dataset(20, 3))
    multi = dataset("two-answers-12", multi_answer_dataset(12, 5))
    small = dataset("small-20", small_dataset(20, 4))
    graphs = [(True, None), (True, 3), (False, None), (False, 3)]
    specs = []
    # Every grad function with every answer function, single gradient at mask 0, all graph kinds.
    for gf in ["logit", "prob", "logprob", "logit-exp"]:
        for af in ["avg-diff", "avg-val", "mse"]:
            for g in graphs:
                specs.append((small, g, 2, 6, {"grad-function": gf, "answer-function": af, "mask-value": "0"}))
    # Integrated gradients and other mask values.
    for g in graphs:
        specs.append((varied, g, 3, 9, {"grad-function": "logit", "answer-function": "avg-diff", "integrated-gradients": "4"}))
        specs.append((small, g, 1, 3, {"grad-function": "prob", "answer-function": "avg-val", "integrated-gradients": "3"}))
        specs.append((small, g, 2, 4, {"grad-function": "logprob", "answer-function": "avg-diff", "mask-value": "0.5"}))
    # Every ablation type, from clean and from corrupt prompts where that applies.
    for name in ABLATION_BY_NAME:
        for source in (["clean", "corrupt"] if name in BATCH_SPECIFIC else ["corrupt"]):
            for g in [(True, None), (False, 3)]:
                specs.append((varied, g, 2, 6, {"grad-function": "logit", "answer-function": "avg-diff",
                                                "mask-value": "0", "ablation": name, "ablation-source": source}))
    # Several answers per prompt.
    specs.append((multi, (True, None), 3, 6, {"grad-function": "logit", "answer-function": "avg-val", "mask-value": "0"}))
    specs.append((multi, (True, 3), 2, 6, {"grad-function": "logit", "answer-function": "avg-diff", "integrated-gradients": "2"}))

    scenarios = []
    for data, (factorized, seq_len), bs, train_n, options in specs:
        af = options["answer-function"]
        model, train = build(data, factorized, seq_len, bs, train_n, 4, float_answers=(af == "mse"))
        ablation = options.get("ablation", "resample")
        source = options.get("ablation-source", "corrupt")
        scores = mask_gradient_prune_scores(
            model, train, None,
            grad_function=snake(options["grad-function"]),
            answer_function=snake(af),
            mask_val=float(options["mask-value"]) if "mask-value" in options else None,
            integrated_grad_samples=int(options["integrated-gradients"]) if "integrated-gradients" in options else None,
            ablation_type=ABLATION_BY_NAME[ablation],
            clean_corrupt=source if ablation in BATCH_SPECIFIC else None,
        )
        s = scenario_base(data, factorized, seq_len, bs, train_n, 4)
        s.update({"options": options, "scores": scores_json(model, scores)})
        scenarios.append(s)
    write(out / "micro_mask_gradient.json", {"datasets": DATASETS, "scenarios": scenarios})


# ---------------------------------------------------------------------------------------------- #
def acdc_order(model):
    """Our ACDC order: destination layer, token position, destination module, head, source, all descending."""
    modules = sorted(model.patch_masks, key=lambda m: dest_module_layer(model, m))
    index = {m: i for i, m in enumerate(modules)}
    return sorted(model.edges, key=lambda e: (-e.dest.layer, -(e.seq_idx or 0), -index[e.dest.module_name],
                                              -(e.dest.head_idx or 0), -e.src.src_idx))


def export_acdc(out):
    varied = dataset("varied-20", micro_dataset(20, 3))
    other = dataset("varied-16", micro_dataset(16, 11))
    specs = [
        # Taus up to a few units (KL) or a few hundred (MSE) leave some edges unremoved (+inf).
        (varied, True, None, 2, 6, {"tau-exps": "-3;-2;-1;0", "tau-bases": "1;3", "target": "kl-div"}),
        (varied, True, None, 2, 6, {"tau-exps": "-1;0;1;2", "tau-bases": "1;3", "target": "mse"}),
        (varied, True, 3, 2, 6, {"tau-exps": "-3;-2;-1;0", "tau-bases": "1;5", "target": "kl-div"}),
        (varied, True, 3, 3, 6, {"tau-exps": "-1;0;1;2", "tau-bases": "1;3", "target": "mse"}),
        (varied, False, None, 2, 6, {"tau-exps": "-3;-2;-1;0", "tau-bases": "1;3", "target": "kl-div"}),
        (varied, False, 3, 1, 3, {"tau-exps": "-1;0;1;2", "tau-bases": "1;3", "target": "mse"}),
        (other, True, None, 4, 8, {"tau-exps": "-5;-4;-3;-2", "tau-bases": "1;3;5;7;9", "target": "kl-div"}),
        (other, False, 3, 4, 8, {"tau-exps": "-4;-2;0", "tau-bases": "2;7", "target": "kl-div"}),
    ]
    scenarios = []
    for data, factorized, seq_len, bs, train_n, options in specs:
        model, train = build(data, factorized, seq_len, bs, train_n, 4)
        order = acdc_order(model)
        model.edges = order
        scores = acdc_prune_scores(
            model, train, None,
            tao_exps=[int(x) for x in options["tau-exps"].split(";")],
            tao_bases=[int(x) for x in options["tau-bases"].split(";")],
            faithfulness_target=snake(options["target"]),
        )
        s = scenario_base(data, factorized, seq_len, bs, train_n, 4)
        s.update({"options": options, "edge_order": [[e.name, e.seq_idx] for e in order],
                  "scores": scores_json(model, scores)})
        scenarios.append(s)
    write(out / "micro_acdc.json", {"datasets": DATASETS, "scenarios": scenarios})


# ---------------------------------------------------------------------------------------------- #
SP_DEFAULTS = {"learning-rate": "0.1", "epochs": "20", "regularize-lambda": "10", "mask-fn": "hard-concrete",
               "dropout": "0", "target": "kl-div", "tree-optimisation": "false", "avoid-lambda": "1"}


def sp_kwargs(options, model):
    o = dict(SP_DEFAULTS, **options)
    mask_fn = {"hard-concrete": "hard_concrete", "sigmoid": "sigmoid", "none": None}[o["mask-fn"]]
    kwargs = dict(
        learning_rate=float(o["learning-rate"]), epochs=int(o["epochs"]),
        regularize_lambda=float(o["regularize-lambda"]), mask_fn=mask_fn, dropout_p=float(o["dropout"]),
        tree_optimisation=o["tree-optimisation"] == "true", avoid_lambda=float(o["avoid-lambda"]),
        faithfulness_target=snake(o["target"]),
    )
    if "init-val" in o:
        kwargs["init_val"] = float(o["init-val"])
    if "avoid-edges" in o:
        names = o["avoid-edges"].split(";")
        kwargs["avoid_edges"] = {e for e in model.edges if e.name in names}
    return kwargs


def export_subnetwork_probing(out):
    varied = dataset("varied-20", micro_dataset(20, 3))
    specs = [
        # (dataset, factorized, seq_len, bs, train, seed, options)
        (varied, True, None, 2, 6, 0, {"epochs": "6"}),
        (varied, True, None, 2, 6, 5, {"epochs": "6", "mask-fn": "sigmoid"}),
        (varied, True, None, 2, 6, 5, {"epochs": "6", "mask-fn": "none", "regularize-lambda": "0.5"}),
        (varied, True, 3, 3, 6, 1, {"epochs": "4", "tree-optimisation": "true"}),
        (varied, True, 3, 2, 4, 2, {"epochs": "5", "mask-fn": "sigmoid", "tree-optimisation": "true", "target": "answer"}),
        (varied, False, None, 2, 6, 3, {"epochs": "5", "target": "wrong-answer", "learning-rate": "0.05"}),
        (varied, False, 3, 2, 6, 4, {"epochs": "4", "target": "mse", "mask-fn": "sigmoid"}),
        (varied, True, None, 2, 6, 6, {"epochs": "4", "target": "correct-percent"}),
        (varied, True, None, 2, 6, 7, {"epochs": "4", "target": "logit-diff-percent", "mask-fn": "sigmoid"}),
        (varied, True, None, 2, 6, 8, {"epochs": "5", "dropout": "0.3"}),
        (varied, True, None, 2, 6, 9, {"epochs": "5", "circuit-size": "4", "regularize-lambda": "1"}),
        (varied, True, 3, 2, 6, 10, {"epochs": "5", "circuit-size": "7", "tree-optimisation": "true", "mask-fn": "sigmoid"}),
        (varied, True, None, 2, 6, 11, {"epochs": "5", "avoid-edges": "Resid Start->B1.0;B0.1->Resid End", "avoid-lambda": "2"}),
        (varied, False, None, 2, 6, 12, {"epochs": "5", "avoid-edges": "B0.0->Resid Post 0", "tree-optimisation": "true", "mask-fn": "sigmoid"}),
        (varied, True, None, 2, 6, 13, {"epochs": "5", "avoid-edges": "B0.1->B1.1", "mask-fn": "none"}),
        (varied, True, None, 1, 3, 14, {"epochs": "3", "init-val": "0.5", "dropout": "0.2", "mask-fn": "sigmoid"}),
    ]
    scenarios = []
    for data, factorized, seq_len, bs, train_n, seed, options in specs:
        model, train = build(data, factorized, seq_len, bs, train_n, 4, float_answers=options.get("target") == "mse")
        kwargs = sp_kwargs(options, model)
        if "circuit-size" in options:
            kwargs["circuit_size"] = int(options["circuit-size"])
        t.manual_seed(seed)
        scores = subnetwork_probing_prune_scores(model, train, None, **kwargs)
        s = scenario_base(data, factorized, seq_len, bs, train_n, 4)
        s.update({"torch_seed": seed, "options": options, "scores": scores_json(model, scores)})
        scenarios.append(s)
    write(out / "micro_subnetwork_probing.json", {"datasets": DATASETS, "scenarios": scenarios})


def export_circuit_probing(out):
    varied = dataset("varied-20", micro_dataset(20, 3))
    known_f = ["Resid Start->B0.0", "B0.0->B1.1", "B1.1->Resid End", "Resid Start->Resid End"]
    known_r = ["Resid Start->Resid Post 0", "B1.0->Resid End"]
    specs = [
        # (key, factorized, seq_len, bs, train, seed, known, options); circuit_probing defaults as auto-circuit's.
        ("circuit-probing", True, None, 2, 6, 0, known_f, {"epochs": "4", "circuit-sizes": "true-size;7"}),
        ("circuit-probing", True, None, 2, 6, 1, known_f, {"epochs": "4", "circuit-sizes": "2;true-size;9", "mask-fn": "sigmoid"}),
        ("circuit-tree-probing", True, 3, 2, 6, 2, known_f, {"epochs": "3", "circuit-sizes": "5;true-size"}),
        ("circuit-tree-probing", False, None, 2, 6, 3, known_r, {"epochs": "4", "circuit-sizes": "true-size;4", "mask-fn": "sigmoid", "target": "answer"}),
        ("opposite-tree-probing", True, None, 2, 6, 4, known_f, {"epochs": "4", "circuit-sizes": "true-size;10"}),
        ("opposite-tree-probing", False, 3, 2, 6, 5, known_r, {"epochs": "3", "circuit-sizes": "1;true-size;12", "mask-fn": "none"}),
        # Exactly the edge count (13): what a size above it is clamped to (auto-circuit fails above it).
        ("circuit-probing", True, None, 2, 6, 6, known_f, {"epochs": "3", "circuit-sizes": "true-size;13", "mask-fn": "sigmoid"}),
        ("circuit-tree-probing", True, None, 2, 6, 7, known_f, {"epochs": "3", "circuit-sizes": "3;13"}),
    ]
    scenarios = []
    for key, factorized, seq_len, bs, train_n, seed, known, options in specs:
        model, train = build(data=varied, factorized=factorized, seq_len=seq_len, bs=bs, train_n=train_n, test_n=4)
        official = {e for e in model.edges if e.name in known}
        kwargs = sp_kwargs({k: v for k, v in options.items() if k != "circuit-sizes"}, model)
        kwargs.pop("init_val", None)
        if key != "circuit-probing":
            kwargs["tree_optimisation"] = True
        if key == "opposite-tree-probing":
            kwargs["faithfulness_target"] = "wrong_answer"
        sizes = [s if s == "true-size" else int(s) for s in options["circuit-sizes"].split(";")]
        sizes = ["true_size" if s == "true-size" else s for s in sizes]
        t.manual_seed(seed)
        scores = circuit_probing_prune_scores(model, train, official, circuit_sizes=sizes, **kwargs)
        s = scenario_base(varied, factorized, seq_len, bs, train_n, 4)
        s.update({"algorithm": key, "torch_seed": seed, "known_edges": sorted([e.name, e.seq_idx if e.seq_idx is not None else -1] for e in official),
                  "options": options, "scores": scores_json(model, scores)})
        scenarios.append(s)
    write(out / "micro_circuit_probing.json", {"datasets": DATASETS, "scenarios": scenarios})


def export_random(out):
    varied = dataset("varied-8", micro_dataset(8, 3))
    scenarios = []
    for factorized, seq_len, seed in [(True, None, 0), (True, 3, 42), (False, 3, 7)]:
        model, _ = build(varied, factorized, seq_len, 2, 4, 4)
        t.manual_seed(seed)
        scores = random_prune_scores(model, None, None)
        s = scenario_base(varied, factorized, seq_len, 2, 4, 4)
        s.update({"torch_seed": seed, "scores": scores_json(model, scores)})
        scenarios.append(s)
    # The generators' agreement itself, for the README's claim.
    t.manual_seed(0)
    probe = to_list(t.rand(5))
    write(out / "micro_random.json", {"datasets": DATASETS, "scenarios": scenarios, "rand5_seed0": probe})


def write(path, content):
    meta = {"generator": "tools/reference/export_algorithm_fixtures.py", "torch": t.__version__}
    path.write_text(json.dumps({"meta": meta, **content}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--only", choices=["mask-gradient", "acdc", "subnetwork-probing", "circuit-probing", "random"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    exports = {"mask-gradient": export_mask_gradient, "acdc": export_acdc,
               "subnetwork-probing": export_subnetwork_probing, "circuit-probing": export_circuit_probing,
               "random": export_random}
    for name, fn in exports.items():
        if args.only in (None, name):
            DATASETS.clear()
            t.manual_seed(0)
            fn(args.out)


if __name__ == "__main__":
    main()
