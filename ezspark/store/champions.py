"""Stored champions as three flat tables (run.h5 format 2): an index row per champion and
the nodes and connection genes of all of them, one champion after another."""
from __future__ import annotations

import numpy as np

from ezspark.engine.genome import Genome
from ezspark.network.champion import Champion
from ezspark.store.layout import (CONNECTION_DTYPE, INDEX_DTYPE, NODE_DTYPE, NODE_HIDDEN,
                                  NODE_INPUT, NODE_OUTPUT, conformed)

__all__ = ["ChampionTable", "index_rows", "node_rows"]

#: format 1 dataset names of a champion group, as columns of the flat tables
_V1_NODES = {"id": "node_id", "kind": "node_kind"}
_V1_CONNS = {"innovation": "conn_innovation", "in": "conn_in", "out": "conn_out",
             "weight": "conn_weight", "enabled": "conn_enabled"}


class ChampionTable:
    """``index`` (INDEX_DTYPE), ``nodes`` (NODE_DTYPE), ``connections`` (CONNECTION_DTYPE);
    champion k is one index row and a slice of each of the other two."""

    def __init__(self, index: np.ndarray, nodes: np.ndarray, connections: np.ndarray,
                 recurrent: bool = False, actions=None, bias_input: bool = False):
        self.index, self.nodes, self.connections = index, nodes, connections
        self.recurrent = recurrent      # the run's recurrent key: its champions' networks
        self.bias_input = bias_input    # the run's bias_input key: the last input is the bias
        self.actions = actions          # the run's BoxActions (None: Discrete actions)

    @classmethod
    def of(cls, champions, node_start: int = 0, conn_start: int = 0) -> "ChampionTable":
        """The rows of ``champions`` (Champion objects), offsets counted from
        ``node_start`` and ``conn_start`` (the rows a file already holds).  Built with a
        few array operations for all of them: a flush of thousands of champions (2 seconds
        of a fast run) costs little per champion."""
        k = len(champions)
        genomes = [c.genome for c in champions]
        index = np.zeros(k, dtype=INDEX_DTYPE)
        index["generation"] = [c.generation for c in champions]
        index["fitness"] = [c.fitness for c in champions]
        index["species"] = [c.species for c in champions]
        index["validation"] = [c.validation for c in champions]
        index["conn_count"] = [len(g) for g in genomes]
        conns = np.empty(int(index["conn_count"].sum()), dtype=CONNECTION_DTYPE)
        for name, attr in zip(CONNECTION_DTYPE.names, ("innovation", "src", "dst", "weight",
                                                       "enabled")):
            conns[name] = np.concatenate([getattr(g, attr) for g in genomes]) if k else []
        nodes, index["node_count"] = node_rows(
            np.array([c.n_inputs for c in champions], dtype=np.int64),
            np.array([c.n_outputs for c in champions], dtype=np.int64),
            conns, index["conn_count"])
        index["node_offset"] = node_start + np.cumsum(index["node_count"]) - index["node_count"]
        index["conn_offset"] = conn_start + np.cumsum(index["conn_count"]) - index["conn_count"]
        return cls(index, nodes, conns)

    @classmethod
    def from_groups(cls, groups) -> "ChampionTable":
        """The champions of a format-1 file: ``groups`` maps names to h5py groups holding
        one champion each (any order; a table in generation order comes out)."""
        ordered = sorted(groups.values(), key=lambda g: int(g.attrs["generation"]))
        index = np.zeros(len(ordered), dtype=INDEX_DTYPE)
        nodes, conns = [], []
        n_total = c_total = 0
        for k, g in enumerate(ordered):
            n = np.empty(g["node_id"].shape[0], dtype=NODE_DTYPE)
            for col, name in _V1_NODES.items():
                n[col] = g[name][()]
            c = np.empty(g["conn_in"].shape[0], dtype=CONNECTION_DTYPE)
            for col, name in _V1_CONNS.items():
                c[col] = g[name][()]
            index[k] = (int(g.attrs["generation"]), float(g.attrs["fitness"]),
                        int(g.attrs["species"]), n_total, n.shape[0], c_total, c.shape[0],
                        np.nan)
            n_total, c_total = n_total + n.shape[0], c_total + c.shape[0]
            nodes.append(n)
            conns.append(c)
        return cls(index, np.concatenate(nodes) if nodes else np.empty(0, NODE_DTYPE),
                   np.concatenate(conns) if conns else np.empty(0, CONNECTION_DTYPE))

    def below(self, generation: int) -> "ChampionTable":
        """The champions of generations below ``generation`` (a resume drops the rest)."""
        keep = int(np.searchsorted(self.index["generation"], generation, side="left"))
        index = self.index[:keep]
        n_nodes = int(index["node_offset"][-1] + index["node_count"][-1]) if keep else 0
        n_conns = int(index["conn_offset"][-1] + index["conn_count"][-1]) if keep else 0
        return ChampionTable(index, self.nodes[:n_nodes], self.connections[:n_conns],
                             recurrent=self.recurrent, actions=self.actions,
                             bias_input=self.bias_input)

    def enabled_counts(self) -> np.ndarray:
        """The enabled connections of each champion, in index order (vectorised: a
        summary of 600,000 champions builds no Champion)."""
        idx = self.index
        total = np.concatenate([[0], np.cumsum(self.connections["enabled"], dtype=np.int64)])
        return total[idx["conn_offset"] + idx["conn_count"]] - total[idx["conn_offset"]]

    def best_row(self) -> int:
        """The index row of the champion a run hands out: the best validation score
        (docs/algorithm.md 6.5), the newer one on a tie; the newest champion when none has
        a score (validation off, a fitness function, a file from before validation)."""
        scores = self.index["validation"]
        if not scores.shape[0] or np.isnan(scores).all():
            return scores.shape[0] - 1
        best = np.nanmax(scores)
        return int(np.flatnonzero(scores == best)[-1])

    @property
    def generations(self) -> list[int]:
        return sorted(set(self.index["generation"].tolist()))

    def champion(self, generation: int, env_id: str | None) -> Champion:
        """The champion stored for ``generation`` (the last one, were there two)."""
        return self.champion_at(int(np.flatnonzero(self.index["generation"] == generation)[-1]),
                                env_id)

    def champion_at(self, k: int, env_id: str | None) -> Champion:
        """The genome of index row ``k``, as a Champion of the table's run (its recurrence,
        bias input and action space)."""
        row = self.index[k]
        n0, c0 = int(row["node_offset"]), int(row["conn_offset"])
        kinds = self.nodes["kind"][n0:n0 + int(row["node_count"])]
        c = self.connections[c0:c0 + int(row["conn_count"])]
        genome = Genome(c["innovation"], c["in"], c["out"], c["weight"], c["enabled"])
        return Champion(genome, int((kinds == NODE_INPUT).sum()),
                        int((kinds == NODE_OUTPUT).sum()), recurrent=self.recurrent,
                        bias_input=self.bias_input,
                        generation=int(row["generation"]),
                        fitness=float(row["fitness"]), species=int(row["species"]),
                        env_id=env_id, validation=float(row["validation"])
                        if "validation" in row.dtype.names else float("nan"),
                        actions=self.actions)


def index_rows(rows: np.ndarray) -> np.ndarray:
    """Index rows of any format-2 file as INDEX_DTYPE (files written before validation
    scores existed: NaN, not validated)."""
    return conformed(rows, INDEX_DTYPE, {"validation": np.nan})


def node_rows(n_inputs: np.ndarray, n_outputs: np.ndarray, conns: np.ndarray,
              conn_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The node rows of every genome (its inputs, its outputs, then the hidden nodes its
    genes mention in increasing id order, as ``Genome.hidden_nodes``) and their counts;
    genome i has ``n_inputs[i]``, ``n_outputs[i]`` and the next ``conn_count[i]`` genes of
    ``conns`` (stored champions and stored populations alike)."""
    io = n_inputs + n_outputs
    owner = np.repeat(np.arange(io.shape[0], dtype=np.int64), conn_count)
    ends = np.concatenate([conns["in"], conns["out"]]).astype(np.int64)
    owners = np.concatenate([owner, owner])
    hidden = ends > io[owners]
    # one key per (genome, hidden node): unique sorts by genome, then by node id
    keys = np.unique(owners[hidden] << 32 | ends[hidden])
    hidden_owner, hidden_id = keys >> 32, (keys & 0xFFFFFFFF).astype(np.int32)
    counts = io + np.bincount(hidden_owner, minlength=io.shape[0])
    nodes = np.empty(int(counts.sum()), dtype=NODE_DTYPE)
    start = np.cumsum(counts) - counts
    fixed = np.concatenate([np.arange(1, n + 1) for n in io]) if len(io) else np.zeros(0)
    fixed_at = (np.repeat(start, io)
                + (np.arange(fixed.shape[0]) - np.repeat(np.cumsum(io) - io, io)))
    kinds = np.concatenate([np.repeat([NODE_INPUT, NODE_OUTPUT], [i, o])
                            for i, o in zip(n_inputs, n_outputs)]) if len(io) else np.zeros(0)
    nodes["id"][fixed_at] = fixed
    nodes["kind"][fixed_at] = kinds
    # hidden node j of genome i goes after its io[i] fixed nodes, in id order
    first = np.searchsorted(hidden_owner, np.arange(io.shape[0]))
    rank = np.arange(hidden_owner.shape[0]) - first[hidden_owner]
    hidden_at = start[hidden_owner] + io[hidden_owner] + rank
    nodes["id"][hidden_at] = hidden_id
    nodes["kind"][hidden_at] = NODE_HIDDEN
    return nodes, counts
