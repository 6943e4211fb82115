#!/usr/bin/env python3
"""Export circuit-evaluation reference numbers computed by auto-circuit itself, for AutoCircuit for .NET's
parity tests (tests/AutoCircuit.Host.Tests/Evaluation).

Usage:
    PYTHONPATH=tools/reference/shims:tools/reference:<auto-circuit checkout> \
        python3 tools/reference/export_evaluation_fixtures.py --out tests/Fixtures/auto-circuit

Inputs (datasets, prune scores, known circuits, curve points) are generated here from fixed seeds; every expected
number is the output of auto-circuit's own functions: edge_counts_util, run_circuits, the fourteen PRUNE_METRICS
metric functions, measurements_auc, measure_task_roc and prune_scores_threshold. Where auto-circuit's metric code
raises, the exception is recorded instead, and (for the correct-answer metrics only) the generalised value our port
computes is worked out here by a plain loop, so that the C# side is still checked against an independent computation.
"""
import argparse
import json
import math
import random
from pathlib import Path

import acstubs  # noqa: F401  (must come before auto_circuit imports)
import torch as t

from auto_circuit.metrics.area_under_curve import measurements_auc
from auto_circuit.metrics.official_circuits.measure_roc import measure_task_roc
from auto_circuit.metrics.prune_metrics.prune_metrics import PRUNE_METRICS
from auto_circuit.model_utils.micro_model_utils import MicroModel
from auto_circuit.prune import run_circuits
from auto_circuit.types import AblationType, EdgeCounts, PatchType
from auto_circuit.utils.graph_utils import edge_counts_util, patchable_model
from auto_circuit.utils.tensor_ops import desc_prune_scores, prune_scores_threshold

from export_auto_circuit_fixtures import ABLATIONS, loaders, micro_dataset, to_list, write_dataset

PATCH_TYPES = {PatchType.EDGE_PATCH: "edge", PatchType.TREE_PATCH: "tree"}
ABLATION_BY_NAME = {name: at for at, name in ABLATIONS.items()}
OUR_KEYS = {m.key: m.key.replace(" ", "-").lower() for m in PRUNE_METRICS}


def ragged_dataset(n_prompts, seed):
    """Micro prompts whose prompts have one or two correct answers and one or two wrong answers."""
    data = micro_dataset(n_prompts, seed)
    rng = random.Random(seed + 1000)
    for p in data["prompts"]:
        p["answers"] = rng.choice([[0], [1], [0, 1]])
        p["wrong_answers"] = rng.choice([[0], [1], [1, 0]])
    return data


def same_answer_dataset(n_prompts, seed):
    """Micro prompts whose wrong answer is the correct answer: the full model's answer difference is exactly 0."""
    data = micro_dataset(n_prompts, seed)
    for p in data["prompts"]:
        p["wrong_answers"] = list(p["answers"])
    return data


def make_model(factorized, seq_len):
    return patchable_model(MicroModel(n_layers=2), factorized=factorized, slice_output="last_seq",
                           seq_len=seq_len, separate_qkv=True)


def make_scores(model, kind, seed):
    """Signed scores: 'continuous' (no ties) or 'tied' (a few distinct |values|, both signs)."""
    gen = t.Generator().manual_seed(seed)
    scores = {}
    for mod, mask in sorted(model.patch_masks.items()):
        if kind == "continuous":
            scores[mod] = t.randn(mask.shape, generator=gen)
        else:
            values = t.randint(0, 4, mask.shape, generator=gen).float() * 0.25
            signs = t.randint(0, 2, mask.shape, generator=gen).float() * 2 - 1
            scores[mod] = values * signs
    return scores


def answers_of(batch, wrong):
    answers = batch.wrong_answers if wrong else batch.answers
    return [a for a in answers] if isinstance(answers, t.Tensor) else answers


def generalized_metric(key, model, loader, circ_outs):
    """Our definition of a metric that auto-circuit's code rejects (several correct answers for the correct-answer
    metrics; a batch whose correct answers are a tensor but whose wrong answers are a list, or the reverse, for the
    answer differences), computed with plain loops over prompts."""
    prob_funcs = {"logit": lambda x: x, "prob": lambda x: t.softmax(x, dim=-1), "logprob": lambda x: t.log_softmax(x, dim=-1)}

    def prompt_diffs(vals, batch, f):
        out = []
        for i, (ans, wrong) in enumerate(zip(answers_of(batch, False), answers_of(batch, True))):
            row = f(vals[i])
            out.append(sum(row[a].item() for a in ans) / len(ans) - sum(row[w].item() for w in wrong) / len(wrong))
        return out

    def mean_of_batch_means(per_batch):
        return sum(sum(v) / len(v) for v in per_batch) / len(per_batch)

    result = []
    for edge_count, outs in circ_outs.items():
        per_batch = []
        for batch in loader:
            logits = outs[batch.key]
            if key.startswith("correct-answer"):
                hits = []
                for i, (ans, wrong) in enumerate(zip(answers_of(batch, False), answers_of(batch, True))):
                    row = logits[i]
                    if key.endswith("incorrect-percent"):
                        hits.append(float(max(row[a].item() for a in ans) >= max(row[w].item() for w in wrong)))
                    else:
                        hits.append(float(int(t.argmax(row).item()) in [int(a) for a in ans]))
                per_batch.append(hits)
            else:
                per_batch.append(prompt_diffs(logits, batch, prob_funcs[key.split("-")[0]]))
        value = mean_of_batch_means(per_batch)
        if key.startswith("correct-answer"):
            value *= 100
        elif key.endswith("-percent"):
            with t.inference_mode():
                full = [prompt_diffs(model(b.clean)[model.out_slice], b, prob_funcs[key.split("-")[0]]) for b in loader]
            value = value / mean_of_batch_means(full) * 100
        result.append([edge_count, value])
    return result


def export_metric_table():
    return [
        {"key": m.key, "our_key": OUR_KEYS[m.key], "log_x": m.log_x, "log_y": m.log_y, "y_min": m.y_min,
         "lower_better": m.lower_better}
        for m in PRUNE_METRICS
    ]


def edge_count_cases():
    cases = []

    def add(n_edges, test_counts, scores=None, zero_edges=None, all_edges=None, true_edge_count=None):
        edges = set(range(n_edges))  # edge_counts_util only counts them
        ps = None if scores is None else {"flat": t.tensor(scores, dtype=t.float32)}
        if isinstance(test_counts, list):
            mode = [{"value": v, "fraction": isinstance(v, float)} for v in test_counts]
        else:
            mode = {None: "default", EdgeCounts.ALL: "all", EdgeCounts.LOGARITHMIC: "logarithmic",
                    EdgeCounts.GROUPS: "groups"}[test_counts]
        result = edge_counts_util(edges, test_counts, ps, zero_edges, all_edges, true_edge_count)
        cases.append({"n_edges": n_edges, "test_counts": mode, "scores": scores, "zero_edges": zero_edges,
                      "all_edges": all_edges, "true_edge_count": true_edge_count, "result": result})

    rng = random.Random(11)
    few = [rng.choice([0.0, 0.5, -0.5, 1.5, 2.0]) for _ in range(13)]
    distinct250 = [round(rng.uniform(-5, 5), 4) + i * 1e-3 for i in range(250)]
    groups250 = [float(rng.randrange(99)) * (1 if rng.random() < 0.5 else -1) for _ in range(250)]
    for n in [0, 1, 2, 3, 13, 39, 100, 200, 201, 1234]:
        add(n, None)
        add(n, EdgeCounts.ALL) if n <= 100 else None
        add(n, EdgeCounts.LOGARITHMIC)
    add(13, None, few)
    add(13, EdgeCounts.GROUPS, few)
    add(13, EdgeCounts.GROUPS, few, False, False)
    add(13, EdgeCounts.GROUPS, [0.0] * 13, True, True)
    add(13, EdgeCounts.GROUPS, [0.0] * 13, False, False)
    add(13, EdgeCounts.GROUPS, [0.0] * 12 + [1.0], False, False)
    add(13, EdgeCounts.GROUPS, [0.0] * 10 + [1.0, 2.0, -2.0], False, False)
    add(250, None, [float(i % 100) for i in range(250)])  # exactly min(n/2, 100) distinct values: not groups
    add(250, None, [float(i % 99) for i in range(250)])  # one fewer: groups
    add(14, None, [float(i % 7) for i in range(14)])  # exactly n/2 distinct values: not groups
    add(250, None, distinct250)
    add(250, None, groups250)
    add(250, EdgeCounts.GROUPS, groups250, None, None, 17)
    add(250, EdgeCounts.LOGARITHMIC, None, None, None, 15)
    add(250, EdgeCounts.LOGARITHMIC, None, None, None, 30)
    add(39, [0.0, 0.5, 1.0])
    add(39, [0.1, 0.25, 0.333])
    add(39, [1, 2])
    add(39, [1, 2], None, True, True)
    add(39, [5, 3, 5])
    add(39, [0, 39, 7], None, False, False)
    add(39, [0, 0.5, 3])
    add(13, [0, 0, 4])
    add(13, [0, 0, 4], None, False)
    add(13, EdgeCounts.ALL, None, False, True, 13)
    return cases


def auc_cases():
    cases = []

    def add(points, log_x, log_y, y_min):
        try:
            result = measurements_auc(points, log_x, log_y, y_min)
            error = None
        except AssertionError:
            result, error = None, "AssertionError"
        cases.append({"points": points, "log_x": log_x, "log_y": log_y, "y_min": y_min, "result": result,
                      "error": error})

    rng = random.Random(3)
    curve = [(x, rng.uniform(-2, 5)) for x in [0, 1, 2, 3, 5, 10, 20, 50, 100, 137]]
    shuffled = list(curve)
    rng.shuffle(shuffled)
    rising = [(x, math.log1p(x)) for x in [0, 1, 2, 4, 8, 16, 39]]
    kl = [(0, 2.5), (1, 0.8), (2, 0.05), (5, 0.004), (13, 1e-7)]
    for log_x in [False, True]:
        for log_y, y_min in [(False, None), (True, 1e-2), (True, 1e-6)]:
            add(curve, log_x, log_y, y_min)
            add(shuffled, log_x, log_y, y_min)
            add(rising, log_x, log_y, y_min)
            add(kl, log_x, log_y, y_min)
    add([(0, 5.0), (1, 1.0), (2, 0.0)], False, False, None)  # negative area: floored at eps
    add([(0, 1.0)], False, False, None)  # one point
    add([(0, 1.0), (4, 3.0), (4, 5.0), (9, 2.0)], True, False, None)  # a repeated x
    add([(1, 1.0), (4, 3.0)], False, False, None)  # no point at 0 edges: auto-circuit asserts
    return cases


CIRCUIT_SCENARIOS = [
    # dataset, factorized, seq_len, batch, train, test, shuffle, seed, scores, counts, patch, ablation, reverse
    ("varied", True, None, 2, 6, 6, True, 42, "continuous", None, "edge", "resample", False),
    ("varied", True, None, 2, 6, 6, True, 42, "tied", [0, 1, 2, 3, 5, 8, 13], "tree", "zero", False),
    ("varied", True, 3, 2, 4, 6, True, 7, "tied", "groups", "edge", "tokenwise-mean-clean", True),
    ("varied", False, None, 3, 6, 9, True, 42, "continuous", None, "tree", "tokenwise-mean-corrupt", False),
    ("varied", True, 3, 3, 3, 9, False, 42, "continuous", "logarithmic", "edge", "batch-tokenwise-mean", False),
    ("ragged", True, None, 2, 4, 8, True, 123, "tied", [0.0, 0.25, 0.5, 1.0], "edge",
     "tokenwise-mean-clean-and-corrupt", False),
    ("varied", False, 3, 2, 4, 4, True, 42, "tied", None, "tree", "batch-all-tok-mean", True),
    ("same-answer", True, None, 2, 2, 4, True, 42, "continuous", [0, 2, 13], "edge", "resample", False),
    ("varied", True, None, 1, 3, 5, True, 5, "tied", [0, 1, 1, 4, 13], "edge", "resample", True),
]


def make_dataset(kind, seed):
    if kind == "varied":
        return micro_dataset(20, seed)
    if kind == "ragged":
        return ragged_dataset(20, seed)
    return same_answer_dataset(20, seed)


def circuit_scenarios():
    scenarios = []
    for i, (ds, factorized, seq_len, bs, train_n, test_n, shuffle, seed, score_kind, counts, patch, ablation,
            reverse) in enumerate(CIRCUIT_SCENARIOS):
        data = make_dataset(ds, 30 + i)
        path = write_dataset(data)
        model = make_model(factorized, seq_len)
        _, test_loader = loaders(path, bs, train_n, test_n, shuffle, seed)
        scores = make_scores(model, score_kind, 100 + i)
        if counts is None:
            test_counts = None
        elif isinstance(counts, str):
            test_counts = {"groups": EdgeCounts.GROUPS, "logarithmic": EdgeCounts.LOGARITHMIC}[counts]
        else:
            test_counts = counts
        edge_counts = edge_counts_util(model.edges, test_counts, scores)
        desc = desc_prune_scores(scores)
        real_counts = [
            int(sum((s.abs() >= prune_scores_threshold(desc, k)).sum().item() for s in scores.values()))
            for k in edge_counts
        ]
        patch_type = {v: k for k, v in PATCH_TYPES.items()}[patch]
        circ_outs = run_circuits(model, test_loader, edge_counts, scores, patch_type, ABLATION_BY_NAME[ablation],
                                 reverse)
        measurements, aucs, errors, generalized = {}, {}, {}, {}
        for metric in PRUNE_METRICS:
            key = OUR_KEYS[metric.key]
            try:
                points = metric.metric_func(model, test_loader, circ_outs)
            except (AssertionError, ZeroDivisionError) as e:
                errors[key] = f"{type(e).__name__}: {e}"
                if isinstance(e, AssertionError):
                    generalized[key] = generalized_metric(key, model, test_loader, circ_outs)
                continue
            measurements[key] = [[x, y] for x, y in points]
            xs = [x for x, _ in points]
            aucs[key] = (measurements_auc(points, metric.log_x, metric.log_y, metric.y_min)
                         if len(points) > 1 and 0 in xs else None)
        scenarios.append({
            "dataset": data, "factorized": factorized, "seq_len": seq_len, "batch_size": bs, "train_size": train_n,
            "test_size": test_n, "shuffle": shuffle, "seed": seed,
            "scores": {m: to_list(s) for m, s in scores.items()},
            "test_counts": counts if not isinstance(counts, list)
            else [{"value": v, "fraction": isinstance(v, float)} for v in counts],
            "edge_counts": edge_counts, "real_counts": real_counts,
            "patch_type": patch, "ablation": ablation, "reverse": reverse,
            "circuit_keys": list(circ_outs.keys()),
            "measurements": measurements, "auc": aucs, "errors": errors, "generalized": generalized,
        })
    return scenarios


def roc_cases():
    cases = []
    specs = [
        (True, None, "continuous", ["B0.1->Resid End", "B0.0->B1.1", "Resid Start->B0.0"], None),
        (True, None, "tied", ["B0.1->Resid End", "B1.0->Resid End", "Resid Start->B1.1", "B0.0->B1.0"], None),
        (True, 3, "tied", [("B0.1->Resid End", 2), ("B0.0->B1.1", 2), ("Resid Start->Resid End", 0)], None),
        (False, None, "continuous", ["B1.1->Resid End", "B0.0->Resid Post 0"], None),
    ]
    for i, (factorized, seq_len, kind, official_spec, _) in enumerate(specs):
        model = make_model(factorized, seq_len)
        scores = make_scores(model, kind, 200 + i)
        official = set()
        official_out = []
        for spec in official_spec:
            name, seq = (spec, None) if isinstance(spec, str) else spec
            for e in model.edges:
                if e.name == name and e.seq_idx == seq:
                    official.add(e)
            official_out.append([name, seq])
        assert len(official) == len(official_spec)
        for all_edges in [False, True]:
            points = measure_task_roc(model, official, scores, all_edges=all_edges)
            trapezoid = sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in zip(points, points[1:]))
            step = sum((x2 - x1) * y1 for (x1, y1), (x2, _) in zip(points, points[1:]))
            cases.append({
                "factorized": factorized, "seq_len": seq_len, "official": official_out, "all_edges": all_edges,
                "scores": {m: to_list(s) for m, s in scores.items()}, "points": points,
                "trapezoid_auc": trapezoid, "step_auc": step,
            })
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t.manual_seed(0)
    fixture = {
        "generator": "tools/reference/export_evaluation_fixtures.py",
        "torch": t.__version__,
        "prune_metrics": export_metric_table(),
        "edge_counts": edge_count_cases(),
        "auc": auc_cases(),
        "circuits": circuit_scenarios(),
        "roc": roc_cases(),
    }
    (args.out / "micro_evaluation.json").write_text(json.dumps(fixture, indent=1, allow_nan=False))


if __name__ == "__main__":
    main()
