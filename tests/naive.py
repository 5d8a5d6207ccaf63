"""Slow, obvious reference models for tests, and random inputs for them.

``NaiveNetwork`` evaluates a network the way docs/algorithm.md 3.4 reads: a dict of nodes, each
output computed by recursion over its incoming connections.  It shares no code with
``ezspark.network.programs`` or the kernels.
"""
from __future__ import annotations

import math

import numpy as np

from ezspark.engine.genome import Genome


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z), with 0.0 where e^-z overflows."""
    try:
        return 1.0 / (1.0 + math.exp(-z))
    except OverflowError:
        return 0.0


class NaiveNetwork:
    """A feed-forward network as a dict of nodes, evaluated recursively from the outputs.

    ``connections``: (src, dst, weight, enabled) tuples, in the order each node sums them.
    Node n (not an input) outputs ``sigmoid(slope * (bias(n) + sum))``; ``biases`` maps a node
    id to its bias, otherwise outputs get ``output_bias`` and other nodes ``hidden_bias``.
    """

    def __init__(self, connections, input_ids, output_ids, *, biases=None,
                 hidden_bias: float = 0.0, output_bias: float = 0.0, slope: float = 1.0):
        self.input_index = {int(n): a for a, n in enumerate(input_ids)}
        self.output_ids = [int(n) for n in output_ids]
        self.incoming: dict[int, list[tuple[int, float]]] = {}
        for src, dst, weight, enabled in connections:
            if enabled:
                self.incoming.setdefault(int(dst), []).append((int(src), float(weight)))
        self.biases = {int(k): float(v) for k, v in (biases or {}).items()}
        self.hidden_bias, self.output_bias, self.slope = hidden_bias, output_bias, slope

    @classmethod
    def from_genome(cls, genome: Genome, n_inputs: int, n_outputs: int, *,
                    hidden_bias: float = 0.0, output_bias: float = 1.0,
                    slope: float = 4.9) -> "NaiveNetwork":
        """EzSpark network: ids 1 ... I inputs, I+1 ... I+O outputs; innovation order."""
        genes = sorted(zip(genome.innovation.tolist(), genome.src.tolist(),
                           genome.dst.tolist(), genome.weight.tolist(),
                           genome.enabled.tolist()))
        return cls([g[1:] for g in genes], range(1, n_inputs + 1),
                   range(n_inputs + 1, n_inputs + n_outputs + 1), hidden_bias=hidden_bias,
                   output_bias=output_bias, slope=slope)

    def bias(self, node: int) -> float:
        if node in self.biases:
            return self.biases[node]
        return self.output_bias if node in self.output_ids else self.hidden_bias

    def activate(self, x) -> list[float]:
        memo: dict[int, float] = {}

        def value(node: int) -> float:
            if node in self.input_index:
                return float(x[self.input_index[node]])
            if node not in memo:
                s = 0.0
                for src, weight in self.incoming.get(node, []):
                    s += weight * value(src)
                memo[node] = sigmoid(self.slope * (self.bias(node) + s))
            return memo[node]

        return [value(n) for n in self.output_ids]

    def act(self, x) -> int:
        outputs = self.activate(x)
        return outputs.index(max(outputs))


def random_genome(rng: np.random.Generator, n_inputs: int, n_outputs: int, *,
                  n_hidden: int | None = None, n_genes: int | None = None,
                  p_enabled: float = 0.8, weight_scale: float = 2.0) -> Genome:
    """A random acyclic EzSpark genome (docs/algorithm.md 3.1, 3.3).

    Hidden ids are spread out above I + O, and the hidden nodes get a random topological
    order unrelated to their ids; innovations are random, so innovation order is unrelated
    to topology too.  Sources are inputs or hidden nodes, targets hidden or output nodes, at
    most one gene per pair.  Some hidden nodes end up without inputs or reaching no output.
    """
    I, O = n_inputs, n_outputs
    H = int(rng.integers(0, 7)) if n_hidden is None else n_hidden
    hidden = I + O + 1 + np.sort(rng.choice(4 * H + 1, size=H, replace=False))
    # rank: inputs 0, hidden 1 ... H in a random order, outputs H + 1
    rank = {a: 0 for a in range(1, I + 1)}
    rank.update({int(n): int(r) + 1 for n, r in zip(hidden, rng.permutation(H))})
    rank.update({o: H + 1 for o in range(I + 1, I + O + 1)})
    sources = list(range(1, I + 1)) + hidden.tolist()
    targets = hidden.tolist() + list(range(I + 1, I + O + 1))
    pairs = [(a, b) for a in sources for b in targets if rank[a] < rank[b]]
    n = int(rng.integers(0, len(pairs) + 1)) if n_genes is None else min(n_genes, len(pairs))
    chosen = rng.choice(len(pairs), size=n, replace=False)
    innovation = np.sort(rng.choice(20 * (n + 1), size=n, replace=False) + 1)
    src = np.array([pairs[c][0] for c in chosen], dtype=np.int32)
    dst = np.array([pairs[c][1] for c in chosen], dtype=np.int32)
    return Genome(innovation, src, dst, rng.normal(0.0, weight_scale, n),
                  rng.random(n) < p_enabled)


def random_general_network(rng: np.random.Generator, n_inputs: int, n_outputs: int):
    """A random acyclic network with neat-python style ids and per-node biases.

    Inputs -1 ... -I, outputs 0 ... O-1, hidden ids random positive; outputs may also feed
    hidden nodes.  Returns (src, dst, weight, enabled, biases dict) with connections in a
    random summation order.
    """
    H = int(rng.integers(0, 6))
    hidden = (rng.choice(1000, size=H, replace=False) + n_outputs).tolist()
    outputs = list(range(n_outputs))
    inner = hidden + outputs
    order = {n: i for i, n in enumerate(rng.permutation(inner).tolist())}
    pairs = [(a, b) for a in list(range(-1, -n_inputs - 1, -1)) + inner for b in inner
             if a < 0 or order[a] < order[b]]
    n = int(rng.integers(0, len(pairs) + 1))
    chosen = rng.choice(len(pairs), size=n, replace=False)
    src = np.array([pairs[c][0] for c in chosen], dtype=np.int64)
    dst = np.array([pairs[c][1] for c in chosen], dtype=np.int64)
    biases = {node: float(b) for node, b in zip(inner, rng.normal(0.0, 1.0, len(inner)))}
    return src, dst, rng.normal(0.0, 1.5, n), rng.random(n) < 0.85, biases
