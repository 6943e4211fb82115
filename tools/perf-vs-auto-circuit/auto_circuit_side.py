#!/usr/bin/env python3
"""auto-circuit's side of the head-to-head benchmark (tools/perf-vs-auto-circuit/README.md).

Runs auto-circuit's own code (a checkout at the pinned commit, never copied into this repository)
on its own `MicroModel(n_layers)`, factorized graph, 256 prompt pairs in 4 batches of 64, and
prints one JSON object on stdout: per workload the timings of N repetitions after a warm-up
(median and quartiles, ms) and a checksum of what was computed. The workloads, the dataset, the
mask pattern, the run_circuits scores and the checksums are defined in README.md; our side
(`bench --vs-auto-circuit --json`) prints the same keys.

    python3 tools/perf-vs-auto-circuit/auto_circuit_side.py --auto-circuit /path/to/auto-circuit \
        --n-layers 8 --threads 1 --reps 5 [--workloads mask_gradient,acdc] [--dataset FILE]
    python3 tools/perf-vs-auto-circuit/auto_circuit_side.py --write-dataset FILE

Needs Python 3 with Debian's python3-torch (1.13) plus python3-tqdm, python3-plotly,
python3-ordered-set (auto-circuit imports them; missing ones are stubbed, see `_stub_missing`).
tools/reference/shims provides einops and stubs for transformer_lens and friends.
"""
import argparse
import hashlib
import importlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIMS = HERE.parent / "reference" / "shims"

SCHEMA = 1
WORKLOADS = ["construct", "forward", "patched_forward", "activation_magnitude", "mask_gradient",
             "integrated_gradients", "run_circuits", "acdc"]

# Fixed parameters of the benchmark (README.md, "Workloads"); both sides use these values.
N_PROMPTS = 256
BATCH_SIZE = 64
N_BATCHES = 4
DATASET_SEED = 17
IG_SAMPLES = 10
ACDC_TAU_BASE, ACDC_TAU_EXP = 1, -1          # tau = 0.1, KL divergence target, first batch
SCORE_MULTIPLIER = 7919                       # run_circuits scores (README.md)
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------- #
# Dataset (language neutral: splitmix64, values k/64 exact in binary)

def splitmix64(state):
    """One step of splitmix64: returns (new_state, output), both uint64."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def generate_dataset(n_prompts=N_PROMPTS, seed=DATASET_SEED):
    """auto-circuit's JSON format for the micro model: prompts of 3 positions x 2 dims.

    For each prompt in order: 6 clean values, 6 corrupt values (position-major), then the answer.
    A value is (r mod 385 - 192) / 64 (in [-3, 3], exact in binary), the answer r mod 2, the wrong
    answer 1 - answer, r being the next splitmix64 output from state `seed`."""
    state = seed
    prompts = []

    def nxt():
        nonlocal state
        state, r = splitmix64(state)
        return r

    for _ in range(n_prompts):
        clean = [[(nxt() % 385 - 192) / 64 for _ in range(2)] for _ in range(3)]
        corrupt = [[(nxt() % 385 - 192) / 64 for _ in range(2)] for _ in range(3)]
        answer = nxt() % 2
        prompts.append({"clean": clean, "corrupt": corrupt, "answers": [answer],
                        "wrong_answers": [1 - answer]})
    return {"prompts": prompts}


def dataset_bytes(data):
    return (json.dumps(data, separators=(",", ":")) + "\n").encode()


# ---------------------------------------------------------------------------------------------- #
# Imports of auto-circuit, with stubs for what Debian may lack

def _stub_missing():
    """Stub the optional imports auto-circuit needs only for progress bars and plots, if absent.
    Returns {name: "real <version>" | "stub"}."""
    found = {}
    try:
        import tqdm  # noqa: F401
        found["tqdm"] = "real " + getattr(tqdm, "__version__", "?")
    except ImportError:
        class _Bar:
            def __init__(self, iterable=None, *a, **k):
                self.iterable = iterable

            def __iter__(self):
                return iter(self.iterable)

            def set_description_str(self, *a, **k):
                pass

            def update(self, *a, **k):
                pass

            def close(self):
                pass

        tq = types.ModuleType("tqdm")
        tq.__path__ = []
        auto = types.ModuleType("tqdm.auto")
        auto.tqdm = _Bar
        tq.auto = auto
        tq.tqdm = _Bar
        sys.modules["tqdm"], sys.modules["tqdm.auto"] = tq, auto
        found["tqdm"] = "stub"
    try:
        import ordered_set  # noqa: F401
        found["ordered_set"] = "real"
    except ImportError:
        class OrderedSet(dict):
            def __init__(self, items=()):
                super().__init__((i, None) for i in items)

            def add(self, item):
                self[item] = None

            def __iter__(self):
                return iter(self.keys())

        mod = types.ModuleType("ordered_set")
        mod.OrderedSet = OrderedSet
        sys.modules["ordered_set"] = mod
        found["ordered_set"] = "stub"
    try:
        import plotly  # noqa: F401
        found["plotly"] = "real"
    except ImportError:
        import acstubs
        acstubs.STUBBED = tuple(acstubs.STUBBED) + ("plotly",)
        found["plotly"] = "stub"
    return found


def _commit_of(checkout):
    try:
        return subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:
        marker = Path(checkout) / ".auto_circuit_commit"  # written by run.py when it extracts
        return marker.read_text().strip() if marker.exists() else os.environ.get("AUTO_CIRCUIT_COMMIT",
                                                                                  "unknown")


# ---------------------------------------------------------------------------------------------- #
# Timing

def summarize(samples_ms):
    s = sorted(samples_ms)
    if len(s) == 1:
        q1 = med = q3 = s[0]
    else:
        q1, med, q3 = statistics.quantiles(s, n=4, method="inclusive")
    return {"median": med, "q1": q1, "q3": q3, "min": s[0], "max": s[-1], "samples": samples_ms}


def timed(fn, warmup, reps):
    """Run fn warmup times, then reps timed times; returns (summary, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return summarize(samples), result


def loadavg():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------- #

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--auto-circuit", type=Path, help="auto-circuit checkout (the folder holding auto_circuit/)")
    p.add_argument("--n-layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions per workload")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones")
    p.add_argument("--workloads", default="all", help="comma-separated subset of: " + ",".join(WORKLOADS))
    p.add_argument("--dataset", type=Path, help="dataset JSON (default: generated, see README)")
    p.add_argument("--write-dataset", type=Path, help="write the generated dataset here and exit")
    args = p.parse_args()

    if args.write_dataset:
        args.write_dataset.write_bytes(dataset_bytes(generate_dataset()))
        return
    if args.auto_circuit is None:
        p.error("--auto-circuit is required")
    workloads = WORKLOADS if args.workloads == "all" else [w.strip() for w in args.workloads.split(",")]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        p.error(f"unknown workloads {unknown}; known: {WORKLOADS}")

    checkout = args.auto_circuit.resolve()
    sys.path[:0] = [str(SHIMS), str(checkout)]
    import acstubs  # noqa: F401  (before any auto_circuit import)
    deps = _stub_missing()

    import torch as t
    t.set_num_threads(args.threads)

    from auto_circuit.data import load_datasets_from_json
    from auto_circuit.model_utils.micro_model_utils import MicroModel
    from auto_circuit.prune import run_circuits
    from auto_circuit.prune_algos.ACDC import acdc_prune_scores
    from auto_circuit.prune_algos.activation_magnitude import activation_magnitude_prune_scores
    from auto_circuit.prune_algos.mask_gradient import mask_gradient_prune_scores
    from auto_circuit.types import AblationType, EdgeCounts, PatchType
    from auto_circuit.utils.ablation_activations import src_ablations
    from auto_circuit.utils.graph_utils import edge_counts_util, patch_mode, patchable_model
    from auto_circuit.utils.tensor_ops import batch_answer_diffs
    import einops
    deps["einops"] = "shim (tools/reference/shims)" if Path(einops.__file__).resolve().is_relative_to(SHIMS) \
        else "real " + getattr(einops, "__version__", "?")
    # torch 1.13 deletes the `adam` submodule attribute from torch.optim (not used here, harmless).
    t.optim.adam = importlib.import_module("torch.optim.adam")

    # Dataset: the given file, or the generated one in a temporary file.
    if args.dataset:
        raw = args.dataset.read_bytes()
        ds_path = args.dataset
    else:
        raw = dataset_bytes(generate_dataset())
        f = tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False)
        f.write(raw)
        f.close()
        ds_path = Path(f.name)
    n_in_file = len(json.loads(raw)["prompts"])
    assert n_in_file >= N_PROMPTS, f"the dataset has {n_in_file} prompts, {N_PROMPTS} needed"

    def build():
        return patchable_model(MicroModel(n_layers=args.n_layers), factorized=True,
                               slice_output="last_seq", seq_len=None, separate_qkv=True,
                               device=t.device("cpu"))

    model = build()
    train, _ = load_datasets_from_json(None, ds_path, device=t.device("cpu"), prepend_bos=False,
                                       batch_size=BATCH_SIZE, train_test_size=(N_PROMPTS, 0),
                                       shuffle=False, random_seed=42)
    # The DataLoader draws a worker seed from torch's global generator on each iteration; give it its
    # own generator so nothing depends on the global stream (nothing here draws from it anyway).
    train.generator = t.Generator()
    batches = list(train)
    assert len(batches) == N_BATCHES and all(b.clean.shape[0] == BATCH_SIZE for b in batches)
    if not args.dataset:
        os.unlink(ds_path)

    # Graph order: destination modules by layer (blocks.0.head_inputs, ..., output); an edge's flat
    # index g runs over the modules in that order, row-major within each mask ([head, src] or [src]).
    layer_of = {d.module_name: d.layer for d in model.dests}
    modules = sorted(model.patch_masks, key=lambda m: layer_of[m])
    n_edges = model.n_edges
    assert n_edges == sum(model.patch_masks[m].numel() for m in modules) == 2 * args.n_layers ** 2 \
        + 2 * args.n_layers + 1

    def flat_offsets():
        off, out = 0, {}
        for m in modules:
            out[m] = off
            off += model.patch_masks[m].numel()
        return out

    offsets = flat_offsets()

    def pattern_masks():
        """Patched forward's masks: element (d, h, s) = ((3 s + 5 h + 7 d) mod 8) / 8, d the module's
        position in graph order, h the head (0 for `output`), s the source index."""
        out = {}
        for d, m in enumerate(modules):
            shape = model.patch_masks[m].shape
            if len(shape) == 1:
                vals = [[((3 * s + 7 * d) % 8) / 8 for s in range(shape[0])]]
            else:
                vals = [[((3 * s + 5 * h + 7 * d) % 8) / 8 for s in range(shape[1])] for h in range(shape[0])]
            out[m] = t.tensor(vals if len(shape) == 2 else vals[0], dtype=t.float32)
        return out

    def circuit_scores():
        """run_circuits' scores: edge g scores (-1)^g (1 + (7919 g mod n_edges)), a permutation of 1..n
        in magnitude, so every edge count patches exactly that many edges."""
        out = {}
        for m in modules:
            n = model.patch_masks[m].numel()
            g = t.arange(offsets[m], offsets[m] + n, dtype=t.int64)
            mag = 1 + (g * SCORE_MULTIPLIER) % n_edges
            sign = 1 - 2 * (g % 2)
            out[m] = (sign * mag).to(t.float32).reshape(model.patch_masks[m].shape)
        return out

    def scores_checksum(scores):
        flat = t.cat([scores[m].flatten().double() for m in modules])
        finite = flat[t.isfinite(flat)]
        return {"sum": finite.sum().item(), "abs_sum": finite.abs().sum().item(),
                "n_finite": int(finite.numel()), "n": int(flat.numel())}

    def outputs_checksum(outs):
        """outs: list per batch of the sliced output [64, 2]."""
        cat = t.cat([o.double() for o in outs])
        diffs = t.cat([batch_answer_diffs(o, b).double() for o, b in zip(outs, batches)])
        return {"sum": cat.sum().item(), "abs_sum": cat.abs().sum().item(),
                "logit_diff_sum": diffs.sum().item(), "logit_diff_abs_sum": diffs.abs().sum().item()}

    results = {}

    def run(name, fn, checksum):
        if name not in workloads:
            return
        la0 = loadavg()
        ms, res = timed(fn, args.warmup, args.reps)
        results[name] = {"ms": ms, "checksum": checksum(res), "loadavg": [la0, loadavg()]}

    # 1. construct: MicroModel + patchable_model (factorized, last_seq).
    run("construct", build, lambda m: {"n_srcs": len(m.srcs), "n_dests": len(m.dests), "n_edges": m.n_edges})

    # 2. forward, patching off: the patchable model on each batch's clean input, inference mode.
    def forward():
        with t.inference_mode():
            return [model(b.clean)[model.out_slice] for b in batches]

    run("forward", forward, outputs_checksum)

    # 3. patched forward: masks = pattern, resample ablations of each batch's corrupt input
    #    (computed before timing), clean input, inference mode.
    masks = pattern_masks()
    ablations = [src_ablations(model, b.corrupt, AblationType.RESAMPLE) for b in batches]

    def patched_forward():
        outs = []
        for b, abl in zip(batches, ablations):
            with patch_mode(model, abl), t.inference_mode():
                outs.append(model(b.clean)[model.out_slice])
        return outs

    if "patched_forward" in workloads:
        for m in modules:
            model.patch_masks[m].data = masks[m].clone()
        run("patched_forward", patched_forward, outputs_checksum)

    # 4. activation magnitude.
    run("activation_magnitude", lambda: activation_magnitude_prune_scores(model, train, None),
        scores_checksum)

    # 5. mask gradient at mask value 0 (EAP): logit, avg_diff, resample ablations of the corrupt input.
    run("mask_gradient",
        lambda: mask_gradient_prune_scores(model, train, None, grad_function="logit", answer_function="avg_diff",
                                           mask_val=0.0, ablation_type=AblationType.RESAMPLE,
                                           clean_corrupt="corrupt"),
        scores_checksum)

    # 6. integrated gradients, 10 steps: mask values 0, 0.1, ..., 1.0 (11 passes), gradients summed.
    run("integrated_gradients",
        lambda: mask_gradient_prune_scores(model, train, None, grad_function="logit", answer_function="avg_diff",
                                           integrated_grad_samples=IG_SAMPLES,
                                           ablation_type=AblationType.RESAMPLE, clean_corrupt="corrupt"),
        scores_checksum)

    # 7. run_circuits: the fixed scores, LOGARITHMIC edge counts, edge patch, resample ablations.
    scores = circuit_scores()
    counts = edge_counts_util(model.edges, EdgeCounts.LOGARITHMIC)

    def circuits_checksum(circ_outs):
        assert sorted(circ_outs) == counts, (sorted(circ_outs), counts)
        per = {}
        for k in counts:
            outs = [circ_outs[k][b.key] for b in batches]
            c = outputs_checksum(outs)
            per[str(k)] = {"logit_diff_sum": c["logit_diff_sum"], "logit_diff_abs_sum": c["logit_diff_abs_sum"]}
        return {"edge_counts": counts, "per_count": per,
                "logit_diff_sum": sum(v["logit_diff_sum"] for v in per.values()),
                "logit_diff_abs_sum": sum(v["logit_diff_abs_sum"] for v in per.values())}

    run("run_circuits",
        lambda: run_circuits(model, train, counts, scores, patch_type=PatchType.EDGE_PATCH,
                             ablation_type=AblationType.RESAMPLE),
        circuits_checksum)

    # 8. ACDC, one tau (0.1), KL divergence, first batch, edges in our documented order.
    def acdc_order():
        index = {m: i for i, m in enumerate(modules)}
        return sorted(model.edges, key=lambda e: (-e.dest.layer, -(e.seq_idx or 0), -index[e.dest.module_name],
                                                  -(e.dest.head_idx or 0), -e.src.src_idx))

    def acdc_checksum(ps):
        c = scores_checksum(ps)
        removed = []
        for m in modules:
            flat = ps[m].flatten()
            removed += [offsets[m] + i for i in range(flat.numel()) if math.isfinite(flat[i].item())]
        return {"removed": len(removed), "removed_index_sum": sum(removed),
                "removed_index_square_sum": sum(g * g for g in removed), "score_sum": c["sum"]}

    if "acdc" in workloads:
        edges_set = model.edges
        model.edges = acdc_order()
        run("acdc", lambda: acdc_prune_scores(model, train, None, tao_exps=[ACDC_TAU_EXP],
                                              tao_bases=[ACDC_TAU_BASE], faithfulness_target="kl_div"),
            acdc_checksum)
        model.edges = edges_set

    out = {
        "schema": SCHEMA,
        "side": "auto-circuit",
        "n_layers": args.n_layers,
        "threads": args.threads,
        "reps": args.reps,
        "warmup": args.warmup,
        "graph": {"n_srcs": len(model.srcs), "n_dests": len(model.dests), "n_edges": n_edges},
        "dataset": {"prompts": N_PROMPTS, "batch_size": BATCH_SIZE, "batches": N_BATCHES,
                    "sha256": hashlib.sha256(raw).hexdigest()},
        "workloads": results,
        "env": {
            "auto_circuit_commit": _commit_of(checkout),
            "torch": t.__version__,
            "python": platform.python_version(),
            "num_threads": t.get_num_threads(),
            "num_interop_threads": t.get_num_interop_threads(),
            "deps": deps,
            "pid": os.getpid(),
        },
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
