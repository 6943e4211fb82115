#!/usr/bin/env python3
"""Plain-Python reference of EAP-IG's circuit selection and MIB's area computation, for AutoCircuit for .NET's
parity tests (tests/AutoCircuit.Host.Tests/Evaluation/CircuitSelectionParityTests.cs).

Transcribed from their definitions, with lists in place of tensors (neither torch nor numpy is needed):

- EAP-IG (github hannamw/EAP-IG, src/eap/graph.py): the graph of Graph.from_model (forward/backward indices,
  forward_to_backward, real edges, edge names such as 'a0.h1->a1.h0<q>'), apply_topn at edge level (argsort of the
  scores, non-real edges at -inf), apply_greedy (candidates merged with heapq.merge, from the logits up) and prune
  (nodes without incoming or outgoing edges dropped, then the edges of dropped nodes, while the node set changes).
- MIB (github hannamw/MIB-circuit-track, MIB_circuit_track/evaluation.py, evaluate_area_under_curve): the loop over
  neighbouring percentages that sums trapezoids of the faithfulness (area_under, CPR) and of |1 - faithfulness|
  (area_from_1, CMD), optionally over log(x).

prune is called with every node marked in the graph beforehand, so its loop runs until the node set is stable (a
fixed point). Called from apply_topn(reset=True) as EAP-IG does, the node set computed there equals the loop's first
one, and the loop stops after a single pass; the fixture records both so that the difference is visible.

Scores are random and continuous (no ties), so every ordering is unambiguous.

Usage (from the repository root):  python3 tools/reference/mib_selection_reference.py
Writes tests/Fixtures/mib/selection.json.
"""
import heapq
import json
import math
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "Fixtures" / "mib" / "selection.json"


class Graph:
    """EAP-IG's Graph.from_model, reduced to the index structure and the edges."""

    def __init__(self, n_layers, n_heads, parallel_attn_mlp):
        self.n_layers, self.n_heads, self.parallel = n_layers, n_heads, parallel_attn_mlp
        self.n_forward = 1 + n_layers * (n_heads + 1)
        self.n_backward = n_layers * (3 * n_heads + 1) + 1
        self.f2b = [[False] * self.n_backward for _ in range(self.n_forward)]
        self.real = [[False] * self.n_backward for _ in range(self.n_forward)]
        self.scores = [[0.0] * self.n_backward for _ in range(self.n_forward)]
        self.in_graph = [[False] * self.n_backward for _ in range(self.n_forward)]
        self.nodes_in_graph = [False] * self.n_forward
        self.edges = {}  # name -> (forward, backward, parent name, child name)
        self.parent_edges = {}  # node name -> edge names into it
        residual = ["input"]
        for layer in range(n_layers):
            attn = [f"a{layer}.h{h}" for h in range(n_heads)]
            mlp = f"m{layer}"
            for a in attn:
                for letter in "qkv":
                    self.f2b[self.forward(a)][self.backward(a, letter)] = True
            self.f2b[self.forward(mlp)][self.backward(mlp)] = True
            if parallel_attn_mlp:
                for node in residual:
                    for a in attn:
                        for letter in "qkv":
                            self.add_edge(node, a, letter)
                    self.add_edge(node, mlp)
                residual += attn
                residual.append(mlp)
            else:
                for node in residual:
                    for a in attn:
                        for letter in "qkv":
                            self.add_edge(node, a, letter)
                residual += attn
                for node in residual:
                    self.add_edge(node, mlp)
                residual.append(mlp)
        for node in residual:
            self.add_edge(node, "logits")

    def forward(self, name):
        if name == "input":
            return 0
        if name == "logits":
            return self.n_forward
        if name[0] == "m":
            return 1 + int(name[1:]) * (self.n_heads + 1) + self.n_heads
        layer, head = name.split(".")
        return 1 + int(layer[1:]) * (self.n_heads + 1) + int(head[1:])

    def backward(self, name, qkv=None):
        if name == "logits":
            return self.n_backward - 1
        if name[0] == "m":
            return int(name[1:]) * (3 * self.n_heads + 1) + 3 * self.n_heads
        layer, head = name.split(".")
        return int(layer[1:]) * (3 * self.n_heads + 1) + "qkv".index(qkv) * self.n_heads + int(head[1:])

    def add_edge(self, parent, child, qkv=None):
        name = f"{parent}->{child}" if qkv is None else f"{parent}->{child}<{qkv}>"
        f, b = self.forward(parent), self.backward(child, qkv)
        self.real[f][b] = True
        self.edges[name] = (f, b, parent, child)
        self.parent_edges.setdefault(child, []).append(name)

    def node_in_graph(self, name):
        return True if name == "logits" else self.nodes_in_graph[self.forward(name)]

    def reset(self):
        self.nodes_in_graph = [False] * self.n_forward
        self.in_graph = [[False] * self.n_backward for _ in range(self.n_forward)]

    def kept(self):
        return sorted(n for n, (f, b, _, _) in self.edges.items() if self.in_graph[f][b])

    def nodes_with_outgoing_and_ingoing(self):
        outgoing = [any(row) for row in self.in_graph]
        backward_any = [any(self.in_graph[f][b] for f in range(self.n_forward)) for b in range(self.n_backward)]
        ingoing = [sum(float(backward_any[b]) * float(self.f2b[f][b]) for b in range(self.n_backward)) > 0
                   for f in range(self.n_forward)]
        ingoing[0] = True  # input node always treated as if it has incoming edges
        return [o and i for o, i in zip(outgoing, ingoing)]

    def prune(self):
        old_new_same = False
        while not old_new_same:
            new_nodes = self.nodes_with_outgoing_and_ingoing()
            old_new_same = new_nodes == self.nodes_in_graph
            self.nodes_in_graph = new_nodes
            forward_in_graph = [float(x) for x in self.nodes_in_graph]
            backward_in_graph = [sum(forward_in_graph[f] * float(self.f2b[f][b]) for f in range(self.n_forward))
                                 for b in range(self.n_backward)]
            backward_in_graph[-1] = 1  # logits node is always present
            for f in range(self.n_forward):
                for b in range(self.n_backward):
                    self.in_graph[f][b] = self.in_graph[f][b] and forward_in_graph[f] * backward_in_graph[b] > 0

    def apply_topn(self, n, absolute, prune):
        self.reset()
        flat = []
        for f in range(self.n_forward):
            for b in range(self.n_backward):
                s = abs(self.scores[f][b]) if absolute else self.scores[f][b]
                flat.append(s if self.real[f][b] else -math.inf)
        order = sorted(range(len(flat)), key=lambda i: flat[i], reverse=True)
        for i in order[:n]:
            self.in_graph[i // self.n_backward][i % self.n_backward] = True
        self.nodes_in_graph = [a or b for a, b in zip(self.nodes_in_graph, self.nodes_with_outgoing_and_ingoing())]
        if prune:
            self.prune()

    def apply_greedy(self, n_edges, absolute, prune):
        self.reset()

        def key(name):
            f, b, _, _ = self.edges[name]
            return abs(self.scores[f][b]) if absolute else self.scores[f][b]

        candidates = sorted([n for n, (_, _, _, child) in self.edges.items() if self.node_in_graph(child)],
                            key=key, reverse=True)
        edges = heapq.merge(candidates, key=key, reverse=True)
        while n_edges > 0:
            n_edges -= 1
            top = next(edges)
            f, b, parent, _ = self.edges[top]
            self.in_graph[f][b] = True
            if not self.node_in_graph(parent):
                self.nodes_in_graph[self.forward(parent)] = True
                parents = sorted(self.parent_edges.get(parent, []), key=key, reverse=True)
                edges = heapq.merge(edges, parents, key=key, reverse=True)
        if prune:
            self.prune()


def mib_areas(percentages, faithfulnesses, log_scale):
    """evaluation.py's loop after the faithfulness values are known."""
    area_under = 0.
    area_from_1 = 0.
    for i in range(len(faithfulnesses) - 1):
        i_1, i_2 = i, i + 1
        x_1 = percentages[i_1]
        x_2 = percentages[i_2]
        if log_scale:
            x_1 = math.log(x_1)
            x_2 = math.log(x_2)
        trapezoidal = (x_2 - x_1) * (((abs(1. - faithfulnesses[i_1])) + (abs(1. - faithfulnesses[i_2]))) / 2)
        area_from_1 += trapezoidal
        trapezoidal = (x_2 - x_1) * ((faithfulnesses[i_1] + faithfulnesses[i_2]) / 2)
        area_under += trapezoidal
    return area_under, area_from_1


def main():
    rng = random.Random(14)
    graphs = []
    for n_layers, n_heads, parallel in [(1, 2, False), (2, 2, False), (2, 3, True), (3, 2, False), (3, 4, False)]:
        g = Graph(n_layers, n_heads, parallel)
        names = list(g.edges)
        scores = {n: rng.gauss(0, 1) for n in names}
        for n, s in scores.items():
            f, b, _, _ = g.edges[n]
            g.scores[f][b] = s
        cases = []
        for density in (0.05, 0.15, 0.3, 0.6):
            subset = sorted(n for n in names if rng.random() < density)
            g.reset()
            for n in subset:
                f, b, _, _ = g.edges[n]
                g.in_graph[f][b] = True
            g.nodes_in_graph = [True] * g.n_forward
            g.prune()
            cases.append({"edges": subset, "pruned": g.kept()})
        sizes = sorted({max(1, int(p * len(names))) for p in (0.02, 0.05, 0.1, 0.2, 0.5)} | {len(names)})
        selections = []
        for k in sizes:
            for absolute in (True, False):
                g.apply_greedy(k, absolute, prune=False)
                greedy = g.kept()
                g.nodes_in_graph = [True] * g.n_forward
                g.prune()
                greedy_pruned = g.kept()
                g.apply_topn(k, absolute, prune=False)
                topn = g.kept()
                g.nodes_in_graph = [True] * g.n_forward
                g.prune()
                topn_pruned = g.kept()
                g.apply_topn(k, absolute, prune=True)
                topn_one_pass = g.kept()
                selections.append({
                    "k": k, "absolute": absolute, "greedy": greedy, "greedy_pruned": greedy_pruned, "topn": topn,
                    "topn_pruned": topn_pruned, "topn_pruned_eap_ig_one_pass": topn_one_pass,
                })
        graphs.append({
            "n_layers": n_layers, "n_heads": n_heads, "parallel_attn_mlp": parallel, "edge_count": len(names),
            "scores": scores, "prune": cases, "selections": selections,
        })

    percentages = (.001, .002, .005, .01, .02, .05, .1, .2, .5, 1)
    areas = []
    faithfulness_cases = [
        [0.0] * 10,
        [1.0] * 10,
        [0.0, 0.0, 0.1, 0.2, 0.4, 0.7, 0.9, 1.0, 1.05, 1.0],
        [-0.3, 0.2, 1.4, 0.8, 1.1, 0.95, 1.2, 0.7, 1.0, 1.0],
    ] + [[rng.uniform(-1, 2) for _ in range(10)] for _ in range(4)]
    for faith in faithfulness_cases:
        for log_scale in (False, True):
            cpr, cmd = mib_areas(percentages, faith, log_scale)
            areas.append({"faithfulness": faith, "log_scale": log_scale, "cpr": cpr, "cmd": cmd})

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"percentages": percentages, "graphs": graphs, "areas": areas}, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
