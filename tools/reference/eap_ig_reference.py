#!/usr/bin/env python3
"""Plain-PyTorch reference of EAP-IG's attribution methods, for AutoCircuit for .NET's parity tests.

EAP-IG (github hannamw/EAP-IG, src/eap/attribute.py, utils.py, evaluate.py; Hanna, Pezzelle and Belinkov 2024)
runs on TransformerLens. Neither is installed here, so this script re-creates the pieces those functions use,
written from their definitions:

- hooked forward passes with TransformerLens' hook points (a forward hook may replace an activation, a backward
  hook receives the gradient at the hook point), for auto-circuit's micro model and for a GPT-2 checkpoint in
  Hugging Face layout (tests/Fixtures/models/gpt2-random, forward as in gpt2_llama_reference.py, split per head
  the way TransformerLens does with use_split_qkv_input / use_attn_result / use_hook_mlp_in);
- EAP-IG's graph indices (n_forward sources, n_backward destinations, prev_index) for the factorized graph;
- the methods, following attribute.py step by step: get_scores_eap_ig ("EAP-IG-inputs"),
  get_scores_ig_activations ("EAP-IG-activations"), get_scores_clean_corrupted, get_scores_information_flow_routes,
  get_scores_exact (as a loop over edges, each one patched alone, as evaluate_graph patches it), and the 'mean'
  aggregation of attribute().

One difference is ours by design: the input node's output is the graph's `Resid Start` (token plus positional
embedding, blocks.0.hook_resid_pre) where EAP-IG hooks hook_embed. The positions do not change, so differences and
interpolations are the same; only information flow routes see the positional embedding.

The metric is EAP-IG's logit difference (or minus the answer log-probability) as a loss, summed over the batch
(mean=False), so that the division by total_items gives the mean over prompts.

Usage (from the repository root):  python3 tools/reference/eap_ig_reference.py
Writes tests/Fixtures/eap-ig/{micro,gpt2-random}.json.
"""
import json
import math
from pathlib import Path

import torch

from gpt2_llama_reference import ACTIVATIONS, read_safetensors, rounded, write_json

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "Fixtures" / "eap-ig"


# ----------------------------------------------------------------------------- hooked models

class Hooks:
    """TransformerLens-style hook points: fwd[name](act) may return a replacement; bwd[name](grad) sees the gradient."""

    def __init__(self, fwd=None, bwd=None):
        self.fwd, self.bwd = fwd or {}, bwd or {}

    def __call__(self, name, x):
        for fn in self.fwd.get(name, []):
            y = fn(x)
            x = x if y is None else y
        if name in self.bwd:
            # A node of its own (TransformerLens' HookPoint is a module), so the gradient is that of this hook point's
            # uses only (hook_q_input's, not also hook_k_input's). Where nothing upstream requires grad (an input
            # replaced by a constant), TransformerLens' backward hook would not fire; we take the gradient anyway.
            x = x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)
            for fn in self.bwd[name]:
                x.register_hook(fn)
        return x


class Micro:
    """auto-circuit's micro model: two heads per block multiply the residual by [1, 2] and [3, 4]."""

    n_layers, n_heads, d_model = 2, 2, 2

    def __init__(self):
        self.w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)

    def hook_names(self):
        src = [("input", None)] + [(f"blocks.{l}.head_outputs", h) for l in range(2) for h in range(2)]
        dst = [(f"blocks.{l}.head_inputs", h, 1 + 2 * l) for l in range(2) for h in range(2)] + [("output", None, 5)]
        return src, dst

    def __call__(self, x, hooks):
        x = hooks("input", x)
        for l in range(self.n_layers):
            heads = hooks(f"blocks.{l}.head_inputs", x.unsqueeze(2).expand(-1, -1, 2, 2))
            outs = hooks(f"blocks.{l}.head_outputs", heads * self.w)
            x = hooks(f"resids.{l}", x + outs.sum(2))
        return hooks("output", x)


class Gpt2:
    """GPT-2 (Hugging Face Conv1D layout) with TransformerLens' per-head hook points."""

    def __init__(self, folder):
        self.cfg = json.loads((folder / "config.json").read_text())
        self.sd = {k: v.requires_grad_(True) for k, v in read_safetensors(folder / "model.safetensors").items()}
        self.n_layers, self.n_heads, self.d_model = self.cfg["n_layer"], self.cfg["n_head"], self.cfg["n_embd"]

    def hook_names(self):
        """Sources in EAP-IG's forward order; destinations (module, head, prev_index) in its backward order."""
        L, H = self.n_layers, self.n_heads
        src = [("blocks.0.hook_resid_pre", None)]
        dst = []
        for l in range(L):
            src += [(f"blocks.{l}.attn.hook_result", h) for h in range(H)]
            src.append((f"blocks.{l}.hook_mlp_out", None))
            prev = 1 + l * (H + 1)
            dst += [(f"blocks.{l}.hook_{c}_input", h, prev) for c in "qkv" for h in range(H)]
            dst.append((f"blocks.{l}.hook_mlp_in", None, prev + H))
        dst.append((f"blocks.{L - 1}.hook_resid_post", None, len(src)))
        return src, dst

    def __call__(self, tokens, hooks):
        sd, d, H = self.sd, self.d_model, self.n_heads
        dh, eps = d // H, self.cfg.get("layer_norm_epsilon", 1e-5)
        act = ACTIVATIONS[self.cfg.get("activation_function", "gelu_new")]
        b, t = tokens.shape
        ln = lambda x, p: torch.nn.functional.layer_norm(x, (d,), sd[p + ".weight"], sd[p + ".bias"], eps)  # noqa: E731
        resid = sd["wte.weight"][tokens] + sd["wpe.weight"][torch.arange(t)]
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        for l in range(self.n_layers):
            p = f"h.{l}."
            resid = hooks(f"blocks.{l}.hook_resid_pre", resid)
            per_head = resid.unsqueeze(2).expand(b, t, H, d)
            w_qkv, b_qkv = sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"]
            qkv = []
            for i, c in enumerate("qkv"):
                x = ln(hooks(f"blocks.{l}.hook_{c}_input", per_head), p + "ln_1")  # [b, t, H, d]
                w = w_qkv[:, i * d:(i + 1) * d].view(d, H, dh)
                qkv.append(torch.einsum("bthd,dhe->bhte", x, w) + b_qkv[i * d:(i + 1) * d].view(H, 1, dh))
            q, k, v = qkv
            scores = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(~causal, float("-inf"))
            z = torch.softmax(scores, -1) @ v  # [b, H, t, dh]
            w_o = sd[p + "attn.c_proj.weight"].view(H, dh, d)
            result = hooks(f"blocks.{l}.attn.hook_result", torch.einsum("bhte,hed->bthd", z, w_o))
            resid = resid + result.sum(2) + sd[p + "attn.c_proj.bias"]
            m = ln(hooks(f"blocks.{l}.hook_mlp_in", resid), p + "ln_2")
            m = act(m @ sd[p + "mlp.c_fc.weight"] + sd[p + "mlp.c_fc.bias"]) @ sd[p + "mlp.c_proj.weight"]
            resid = resid + hooks(f"blocks.{l}.hook_mlp_out", m + sd[p + "mlp.c_proj.bias"])
            resid = hooks(f"blocks.{l}.hook_resid_post", resid)
        unembed = sd["wte.weight"] if self.cfg.get("tie_word_embeddings", True) else sd["lm_head.weight"]
        return ln(resid, "ln_f") @ unembed.T


# ----------------------------------------------------------------------------- EAP-IG's graph and hooks

class Graph:
    def __init__(self, model):
        self.src, self.dst = model.hook_names()
        self.n_forward, self.n_backward = len(self.src), len(self.dst)
        self.input_hook = self.src[0][0]


def make_hooks_and_matrices(model, graph, batch_size, n_pos, scores):
    """utils.make_hooks_and_matrices: corrupted hooks add, clean hooks subtract, backward hooks score."""
    activation_difference = torch.zeros((batch_size, n_pos, graph.n_forward, model.d_model))

    def activation_hook(index, head, add, acts):
        acts = acts.detach() if head is None else acts.detach()[:, :, head]
        if add:
            activation_difference[:, :, index] += acts
        else:
            activation_difference[:, :, index] -= acts

    def gradient_hook(prev_index, bwd_index, head, grads):
        grads = grads.detach() if head is None else grads.detach()[:, :, head]
        s = torch.einsum("bpfh,bph->f", activation_difference[:, :, :prev_index], grads)
        scores[:prev_index, bwd_index] += s

    fwd_corrupted, fwd_clean, bwd = {}, {}, {}
    for index, (name, head) in enumerate(graph.src):
        fwd_corrupted.setdefault(name, []).append(lambda a, i=index, h=head: activation_hook(i, h, True, a))
        fwd_clean.setdefault(name, []).append(lambda a, i=index, h=head: activation_hook(i, h, False, a))
    for bwd_index, (name, head, prev_index) in enumerate(graph.dst):
        bwd.setdefault(name, []).append(lambda g, p=prev_index, i=bwd_index, h=head: gradient_hook(p, i, h, g))
    return (fwd_corrupted, fwd_clean, bwd), activation_difference


def input_index(graph):
    return [i for i, (name, _) in enumerate(graph.src) if name == graph.input_hook]


def get_scores_eap_ig(model, graph, batches, metric, steps):
    scores = torch.zeros((graph.n_forward, graph.n_backward))
    total_items = 0
    for clean, corrupted, label in batches:
        batch_size, n_pos = clean.shape[0], clean.shape[1]
        total_items += batch_size
        (fwd_corrupted, fwd_clean, bwd), activation_difference = make_hooks_and_matrices(model, graph, batch_size, n_pos, scores)
        with torch.inference_mode():
            model(corrupted, Hooks(fwd_corrupted))
            index = input_index(graph)[0]
            input_activations_corrupted = activation_difference[:, :, index].clone()
            clean_logits = model(clean, Hooks(fwd_clean))
            input_activations_clean = input_activations_corrupted - activation_difference[:, :, index]

        def input_interpolation_hook(k):
            def hook_fn(activations):
                new_input = input_activations_corrupted + (k / steps) * (input_activations_clean - input_activations_corrupted)
                new_input.requires_grad = True
                return new_input
            return hook_fn

        total_steps = 0
        for step in range(0, steps):
            total_steps += 1
            logits = model(clean, Hooks({graph.input_hook: [input_interpolation_hook(step)]}, bwd))
            metric_value = metric(logits, clean_logits, label)
            metric_value.backward()
    scores /= total_items
    scores /= total_steps
    return scores


def get_scores_ig_activations(model, graph, batches, metric, steps, intervention="patching"):
    scores = torch.zeros((graph.n_forward, graph.n_backward))
    total_items = 0
    for clean, corrupted, label in batches:
        batch_size, n_pos = clean.shape[0], clean.shape[1]
        total_items += batch_size
        (_, _, bwd), activation_difference = make_hooks_and_matrices(model, graph, batch_size, n_pos, scores)
        (fwd_corrupted, _, _), activations_corrupted = make_hooks_and_matrices(model, graph, batch_size, n_pos, scores)
        (fwd_clean, _, _), activations_clean = make_hooks_and_matrices(model, graph, batch_size, n_pos, scores)
        if intervention == "patching":
            model(corrupted, Hooks(fwd_corrupted))
        clean_logits = model(clean, Hooks(fwd_clean))
        activation_difference += activations_corrupted.clone().detach() - activations_clean.clone().detach()

        def output_interpolation_hook(k, clean_acts, corrupted_acts):
            def hook_fn(activations):
                alpha = k / steps
                return alpha * clean_acts + (1 - alpha) * corrupted_acts
            return hook_fn

        total_steps = 0
        # EAP-IG's nodeslist: the input, then each layer's attention (all heads at its out_hook) and MLP.
        modules = []
        for name, _ in graph.src:
            if name not in modules:
                modules.append(name)
        for name in modules:
            idx = [i for i, (n, _) in enumerate(graph.src) if n == name]
            heads = graph.src[idx[0]][1] is not None
            for step in range(1, steps + 1):
                total_steps += 1
                clean_acts = activations_clean[:, :, idx] if heads else activations_clean[:, :, idx[0]]
                corrupted_acts = activations_corrupted[:, :, idx] if heads else activations_corrupted[:, :, idx[0]]
                fwd = {name: [output_interpolation_hook(step, clean_acts, corrupted_acts)]}
                logits = model(clean, Hooks(fwd, bwd))
                metric_value = metric(logits, clean_logits, label)
                metric_value.backward(retain_graph=True)
    scores /= total_items
    scores /= total_steps
    return scores


def get_scores_clean_corrupted(model, graph, batches, metric):
    scores = torch.zeros((graph.n_forward, graph.n_backward))
    total_items = 0
    for clean, corrupted, label in batches:
        batch_size, n_pos = clean.shape[0], clean.shape[1]
        total_items += batch_size
        (fwd_corrupted, fwd_clean, bwd), activation_difference = make_hooks_and_matrices(model, graph, batch_size, n_pos, scores)
        with torch.inference_mode():
            model(corrupted, Hooks(fwd_corrupted))
            clean_logits = model(clean, Hooks(fwd_clean))
        total_steps = 2
        logits = model(clean, Hooks(None, bwd))
        metric(logits, clean_logits, label).backward()
        corrupted_logits = model(corrupted, Hooks(None, bwd))
        metric(corrupted_logits, clean_logits, label).backward()
    scores /= total_items
    scores /= total_steps
    return scores


def get_scores_information_flow_routes(model, graph, batches):
    scores = torch.zeros((graph.n_forward, graph.n_backward))
    total_items = 0
    for clean, _, _ in batches:
        batch_size, n_pos = clean.shape[0], clean.shape[1]
        total_items += batch_size
        output_activations = torch.zeros((batch_size, n_pos, graph.n_forward, model.d_model))

        def output_hook(index, head, activations):
            output_activations[:, :, index] = activations.detach() if head is None else activations.detach()[:, :, head]

        def input_hook(prev_index, bwd_index, head, activations):
            acts = activations.detach() if head is None else activations.detach()[:, :, head]
            acts = acts.unsqueeze(2)  # batch pos 1 hidden
            proximity = torch.clamp(-torch.linalg.vector_norm(output_activations[:, :, :prev_index] - acts, ord=1, dim=-1)
                                    + torch.linalg.vector_norm(acts, ord=1, dim=-1), min=0)
            importance = proximity / torch.sum(proximity, dim=2, keepdim=True)  # batch pos forward
            importance = importance.sum(1) / n_pos  # mean over positions (no padding here)
            scores[:prev_index, bwd_index] += importance.sum(0)

        fwd = {}
        for index, (name, head) in enumerate(graph.src):
            fwd.setdefault(name, []).append(lambda a, i=index, h=head: output_hook(i, h, a))
        for bwd_index, (name, head, prev_index) in enumerate(graph.dst):
            fwd.setdefault(name, []).append(lambda a, p=prev_index, i=bwd_index, h=head: input_hook(p, i, h, a))
        with torch.inference_mode():
            model(clean, Hooks(fwd))
    scores /= total_items
    return scores


def get_scores_exact(model, graph, batches, metric, intervention="patching"):
    """Each real edge patched alone (evaluate_graph's input construction for a graph missing one edge), minus the
    baseline: mean over prompts of (intervened - clean) loss."""
    scores = torch.zeros((graph.n_forward, graph.n_backward))
    with torch.inference_mode():
        baseline = torch.cat([metric(model(c, Hooks()), None, y, per_prompt=True) for c, _, y in batches]).mean()
        corrupted_acts = []
        for clean, corrupted, _ in batches:
            (fwd_corrupted, _, _), acts = make_hooks_and_matrices(model, graph, clean.shape[0], clean.shape[1], None)
            if intervention == "patching":
                model(corrupted, Hooks(fwd_corrupted))
            corrupted_acts.append(acts)
        for bwd_index, (dname, dhead, prev_index) in enumerate(graph.dst):
            for fwd_index in range(prev_index):
                results = []
                for (clean, _, label), acts in zip(batches, corrupted_acts):
                    current = {}
                    sname, shead = graph.src[fwd_index]

                    def record(a, h=shead):
                        current["src"] = a if h is None else a[:, :, h]

                    def construct(a, h=dhead):
                        a = a.clone()
                        update = acts[:, :, fwd_index] - current["src"]
                        if h is None:
                            a += update
                        else:
                            a[:, :, h] += update
                        return a

                    fwd = {sname: [record], dname: [construct]}
                    results.append(metric(model(clean, Hooks(fwd)), None, label, per_prompt=True))
                scores[fwd_index, bwd_index] = torch.cat(results).mean() - baseline
    return scores


# ----------------------------------------------------------------------------- metrics and export

def logit_diff_loss(logits, clean_logits, label, per_prompt=False):
    last = logits[:, -1]
    good, bad = last.gather(1, label[:, :1]).squeeze(1), last.gather(1, label[:, 1:2]).squeeze(1)
    loss = -(good - bad)
    return loss if per_prompt else loss.sum()


def answer_logprob_loss(logits, clean_logits, label, per_prompt=False):
    loss = -torch.log_softmax(logits[:, -1], -1).gather(1, label[:, :1]).squeeze(1)
    return loss if per_prompt else loss.sum()


def module_scores(graph, scores):
    """The [n_forward, n_backward] matrix as our per-module tensors [head?][src]."""
    out = {}
    for bwd_index, (name, head, prev_index) in enumerate(graph.dst):
        out.setdefault(name, []).append(scores[:prev_index, bwd_index])
    return {name: (rows[0] if len(rows) == 1 else torch.stack(rows)) for name, rows in out.items()}


def run_case(model, graph, batches, case):
    method, metric = case["method"], {"avg-diff": logit_diff_loss, "avg-val": answer_logprob_loss}[case["loss"]]
    if method == "eap-ig-inputs":
        scores = get_scores_eap_ig(model, graph, batches, metric, case["steps"])
    elif method == "eap-ig-activations":
        scores = get_scores_ig_activations(model, graph, batches, metric, case["steps"], case["intervention"])
    elif method == "clean-corrupted":
        scores = get_scores_clean_corrupted(model, graph, batches, metric)
    elif method == "information-flow-routes":
        scores = get_scores_information_flow_routes(model, graph, batches)
    else:
        scores = get_scores_exact(model, graph, batches, metric, case["intervention"])
    if case.get("aggregation") == "mean":
        scores = scores / model.d_model
    return {k: rounded(v.detach()) for k, v in module_scores(graph, scores).items()}


def options_of(case):
    grad = {"avg-diff": "grad-function=logit,answer-function=avg-diff", "avg-val": "grad-function=logprob,answer-function=avg-val"}
    parts = [] if case["method"] == "information-flow-routes" else [grad[case["loss"]]]
    if "steps" in case:
        parts.append(f"steps={case['steps']}")
    if case.get("intervention") == "zero":
        parts.append("ablation=zero")
    if case.get("aggregation") == "mean":
        parts.append("aggregation=mean")
    return ",".join(parts)


CASES = [
    {"method": "eap-ig-inputs", "loss": "avg-diff", "steps": 5},
    {"method": "eap-ig-inputs", "loss": "avg-val", "steps": 3, "aggregation": "mean"},
    {"method": "eap-ig-activations", "loss": "avg-diff", "steps": 3, "intervention": "patching"},
    {"method": "eap-ig-activations", "loss": "avg-val", "steps": 2, "intervention": "zero"},
    {"method": "clean-corrupted", "loss": "avg-diff"},
    {"method": "information-flow-routes", "loss": "avg-diff"},
    {"method": "exact", "loss": "avg-diff", "intervention": "patching"},
    {"method": "exact", "loss": "avg-val", "intervention": "zero"},
]


def export(name, model, batches, inputs_json):
    graph = Graph(model)
    cases = []
    for case in CASES:
        cases.append({"algorithm": case["method"], "options": options_of(case), "scores": run_case(model, graph, batches, case)})
    write_json(OUT / f"{name}.json", {"generator": "tools/reference/eap_ig_reference.py", "torch": torch.__version__,
                                     "model": name, "batches": inputs_json, "cases": cases})


def main():
    gen = torch.Generator().manual_seed(7)

    # Micro model: vector prompts [batch, seq, 2]; label = [answer, wrong answer] (classes 0/1).
    batches, inputs = [], []
    for _ in range(2):
        clean = (torch.rand(3, 3, 2, generator=gen) * 4 - 2).round(decimals=2)
        corrupt = (torch.rand(3, 3, 2, generator=gen) * 4 - 2).round(decimals=2)
        answer = torch.randint(0, 2, (3, 1), generator=gen)
        label = torch.cat([answer, 1 - answer], 1)
        batches.append((clean, corrupt, label))
        inputs.append({"clean": clean.tolist(), "corrupt": corrupt.tolist(), "answers": label[:, :1].tolist(),
                       "wrong_answers": label[:, 1:].tolist()})
    export("micro", Micro(), batches, inputs)

    # GPT-2 (3 layers, 4 heads, d 32, vocab 100): token prompts, corrupt = clean with the last two tokens changed.
    model = Gpt2(ROOT / "tests" / "Fixtures" / "models" / "gpt2-random")
    batches, inputs = [], []
    for _ in range(2):
        clean = torch.randint(0, 99, (3, 6), generator=gen)
        corrupt = clean.clone()
        corrupt[:, -2:] = torch.randint(0, 99, (3, 2), generator=gen)
        answer = torch.randint(0, 99, (3, 1), generator=gen)
        wrong = (answer + 1 + torch.randint(0, 97, (3, 1), generator=gen)) % 99
        label = torch.cat([answer, wrong], 1)
        batches.append((clean, corrupt, label))
        inputs.append({"clean": clean.tolist(), "corrupt": corrupt.tolist(), "answers": answer.tolist(),
                       "wrong_answers": wrong.tolist()})
    export("gpt2-random", model, batches, inputs)


if __name__ == "__main__":
    main()
