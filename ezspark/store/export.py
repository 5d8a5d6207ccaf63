"""A champion as plain JSON (``ezspark export``), and back.

The document (``format`` "ezspark-network", ``format_version`` 1) holds everything needed to
compute the network without ezspark: nodes, connections and the activation of docs/algorithm.md
3.4.  Weights are JSON numbers written with Python's repr precision, so they read back
bit for bit.  ``write_atomic`` is the atomic file write the export and plot commands share.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from ezspark.network.actions import BoxActions
from ezspark.network.champion import Champion
from ezspark.engine.genome import Genome
from ezspark.network.programs import EZSPARK_HIDDEN_BIAS, EZSPARK_OUTPUT_BIAS, EZSPARK_SLOPE
from ezspark.store.layout import StoreError, atomic_replace
from ezspark.engine.operators import is_acyclic

__all__ = ["champion_to_dict", "champion_to_json", "champion_from_dict", "read_champion_json",
           "write_atomic", "FORMAT", "FORMAT_VERSION"]

FORMAT = "ezspark-network"
FORMAT_VERSION = 1
ACTIVATION = {
    "function": "sigmoid",
    "slope": EZSPARK_SLOPE,
    "hidden_bias": EZSPARK_HIDDEN_BIAS,
    "output_bias": EZSPARK_OUTPUT_BIAS,
    "formula": (f"sigma(x) = 1 / (1 + exp(-{EZSPARK_SLOPE} * x)) (0 where exp overflows); "
                "input node a = observation value a-1 (flattened, C order); "
                "s(n) = sum of weight * value(in) over the enabled connections into n, "
                "in increasing innovation order; hidden node = sigma(s(n) + hidden_bias) "
                "(sigma(0) = 0.5 without enabled inputs); output node = sigma(s(n) + "
                "output_bias); connections are acyclic, so any topological order works"),
}
ACTION = "argmax of outputs (lowest index on ties) + action space start"
# a continuous (Box) action space: outputs without the +1 (docs/algorithm.md 3.4)
BOX_ACTION = ("action[j] = low[j] + output[j] * (high[j] - low[j]), clipped to [low[j], "
              "high[j]], in the dtype of action_space")
KINDS = ("input", "output", "hidden")


def _kind(node: int, n_inputs: int, n_outputs: int) -> str:
    if node <= n_inputs:
        return "input"
    return "output" if node <= n_inputs + n_outputs else "hidden"


def champion_to_dict(champion: Champion) -> dict:
    """The JSON document of ``champion`` (plain Python values only)."""
    g, n_in, n_out = champion.genome, champion.n_inputs, champion.n_outputs
    node_ids = list(range(1, n_in + n_out + 1)) + champion.hidden_nodes.tolist()
    fitness = champion.fitness
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "env_id": champion.env_id,
        "generation": champion.generation,
        "fitness": fitness if math.isfinite(fitness) else None,
        "species": champion.species,
        "validation": (champion.validation if math.isfinite(champion.validation)
                       else None),
        "n_inputs": n_in,
        "n_outputs": n_out,
        "recurrent": champion.recurrent,
        "bias_input": champion.bias_input,
        "activation": _activation(champion.actions),
        "action": ACTION if champion.actions is None else BOX_ACTION,
        "action_space": None if champion.actions is None else json.loads(
            champion.actions.to_json()),
        "nodes": [{"id": n, "kind": _kind(n, n_in, n_out)} for n in node_ids],
        "connections": [
            {"innovation": i, "in": a, "out": b, "weight": w, "enabled": e}
            for i, a, b, w, e in zip(g.innovation.tolist(), g.src.tolist(), g.dst.tolist(),
                                     g.weight.tolist(), g.enabled.tolist())],
    }


def champion_to_json(champion: Champion) -> str:
    """``champion_to_dict`` as JSON text: indented, one node or connection per line."""
    lines = []
    for key, value in champion_to_dict(champion).items():
        if key in ("nodes", "connections") and value:
            items = ",\n    ".join(json.dumps(item) for item in value)
            lines.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
        else:
            text = json.dumps(value, indent=2).replace("\n", "\n  ")
            lines.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value) -> bool:
    return _is_int(value) and 0 < value < 2**31


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _field(d: dict, key: str, check, what: str, where: str = "", default=...):
    if key not in d:
        if default is not ...:
            return default
        raise ValueError(f"network JSON: missing key {where}{key}")
    value = d[key]
    if not check(value):
        raise ValueError(f"network JSON: {where}{key} must be {what}, not {value!r}")
    return value


def champion_from_dict(d: dict) -> Champion:
    """The champion of a document written by ``champion_to_dict``; a wrong shape raises
    ValueError naming the key."""
    if not isinstance(d, dict):
        raise ValueError(f"network JSON: expected an object, not {type(d).__name__}")
    if d.get("format") != FORMAT:
        raise ValueError(f"network JSON: format must be {FORMAT!r}, not {d.get('format')!r}")
    version = _field(d, "format_version", _is_int, "an integer")
    if version != FORMAT_VERSION:
        raise ValueError(f"network JSON: format_version {version} is not supported "
                         f"(this ezspark reads {FORMAT_VERSION})")
    n_in = _field(d, "n_inputs", _is_id, "a positive integer")
    n_out = _field(d, "n_outputs", _is_id, "a positive integer")
    activation = _field(d, "activation", lambda v: isinstance(v, dict), "an object", default={})
    actions = _action_space(d)
    expected = _activation(actions)
    for key in ("function", "slope", "hidden_bias", "output_bias"):
        if key in activation and activation[key] != expected[key]:
            raise ValueError(f"network JSON: activation.{key} is {activation[key]!r}, but "
                             f"ezspark networks {'of Box actions ' if actions else ''}use "
                             f"{expected[key]!r}")
    nodes = _field(d, "nodes", lambda v: isinstance(v, list), "a list", default=None)
    connections = _field(d, "connections", lambda v: isinstance(v, list), "a list")

    recurrent = _field(d, "recurrent", lambda v: isinstance(v, bool), "true or false",
                       default=False)
    bias_input = _field(d, "bias_input", lambda v: isinstance(v, bool), "true or false",
                        default=False)
    if bias_input and n_in < 2:
        raise ValueError("network JSON: bias_input is true, so n_inputs counts the bias input "
                         f"and at least one observation value: it must be at least 2, not "
                         f"{n_in}")
    columns, innovation = _connection_columns(connections, n_in, n_out, recurrent)
    if nodes is not None:
        _check_nodes(nodes, n_in, n_out, columns)
    order = np.argsort(innovation, kind="stable")
    genome = Genome(*(np.array(columns[key])[order] if connections else []
                      for key in ("innovation", "in", "out", "weight", "enabled")))
    if not recurrent and not is_acyclic(genome):
        raise ValueError("network JSON: the connections form a cycle (and recurrent is not "
                         "true)")
    return Champion(genome, n_in, n_out, recurrent=recurrent, bias_input=bias_input,
                    generation=_field(d, "generation", _is_int, "an integer", default=-1),
                    fitness=_score(d, "fitness"),
                    species=_field(d, "species", _is_int, "an integer", default=-1),
                    env_id=_field(d, "env_id", lambda v: v is None or isinstance(v, str),
                                  "a string or null", default=None),
                    validation=_score(d, "validation"), actions=actions)


def _activation(actions: BoxActions | None) -> dict:
    """The activation block: EzSpark's, with no output bias for Box actions."""
    if actions is None:
        return dict(ACTIVATION)
    return {**ACTIVATION, "output_bias": actions.output_bias,
            "formula": ACTIVATION["formula"].replace("output_bias); ", "output_bias, 0 for "
                                                     "Box actions); ")}


def _action_space(d: dict) -> BoxActions | None:
    """The document's ``action_space`` (null or absent: Discrete actions)."""
    space = _field(d, "action_space", lambda v: v is None or isinstance(v, dict),
                   "an object or null", default=None)
    if space is None:
        return None
    try:
        return BoxActions(space["low"], space["high"], str(space.get("dtype", "float32")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"network JSON: action_space needs numeric lists low and high of "
                         f"one length ({type(exc).__name__}: {exc})") from exc


def _score(d: dict, key: str) -> float:
    """An optional number of the document (fitness, validation): NaN when null or absent."""
    value = _field(d, key, lambda v: v is None or _is_number(v), "a number or null",
                   default=None)
    return float("nan") if value is None else float(value)


def _connection_columns(connections: list, n_in: int, n_out: int,
                        recurrent: bool = False) -> tuple[dict, np.ndarray]:
    """The ``connections`` list as columns (innovation, in, out, weight, enabled), each
    entry checked, and the innovation numbers as an array; ValueError naming what is wrong
    (a wrong field, an edge into an input or, unless ``recurrent``, out of an output, a
    repeated innovation number or node pair)."""
    columns = {"innovation": [], "in": [], "out": [], "weight": [], "enabled": []}
    checks = {"innovation": (_is_id, "a positive 32-bit integer"),
              "in": (_is_id, "a positive 32-bit integer"),
              "out": (_is_id, "a positive 32-bit integer"),
              "weight": (_is_number, "a number"),
              "enabled": (lambda v: isinstance(v, bool), "true or false")}
    for k, conn in enumerate(connections):
        where = f"connections[{k}]."
        if not isinstance(conn, dict):
            raise ValueError(f"network JSON: connections[{k}] must be an object")
        for key, (check, what) in checks.items():
            columns[key].append(_field(conn, key, check, what, where))
        a, b = columns["in"][-1], columns["out"][-1]
        if (_kind(a, n_in, n_out) == "output" and not recurrent) \
                or _kind(b, n_in, n_out) == "input":
            raise ValueError(f"network JSON: {where[:-1]} goes from node {a} to node {b}; "
                             f"connections start at an input or hidden node and end at an "
                             f"output or hidden node")
    innovation = np.array(columns["innovation"], dtype=np.int64)
    if np.unique(innovation).size != innovation.size:
        raise ValueError("network JSON: two connections have the same innovation number")
    pairs = set(zip(columns["in"], columns["out"]))
    if len(pairs) != len(connections):
        raise ValueError("network JSON: two connections join the same pair of nodes")
    return columns, innovation


def read_champion_json(path, generation: int | str | None = None) -> Champion:
    """The champion of a JSON file written by ``ezspark export``; any other file, or a
    generation number other than the one it holds, raises StoreError saying what is wrong
    (None, "best" and "last" all name the one champion it holds)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise StoreError(f"{path} is neither a run.h5 nor a champion JSON (not UTF-8 text)") \
            from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                         f"{exc.colno}): expected a champion written by 'ezspark export'") \
            from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoreError(f"{path} is JSON but not an ezspark champion (no \"format\": "
                         f"\"{FORMAT}\"); write one with: ezspark export RUN.h5 -o FILE.json")
    try:
        champion = champion_from_dict(doc)
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}") from None
    if generation not in (None, "best", "last") and generation != champion.generation:
        raise StoreError(f"{path} holds the champion of generation {champion.generation} "
                         f"only, not generation {generation} (an export is one champion)")
    return champion


def _check_nodes(nodes: list, n_in: int, n_out: int, columns: dict) -> None:
    """The node list must be exactly the inputs, outputs and the hidden nodes connections use."""
    seen = {}
    for k, node in enumerate(nodes):
        where = f"nodes[{k}]."
        if not isinstance(node, dict):
            raise ValueError(f"network JSON: nodes[{k}] must be an object")
        nid = _field(node, "id", _is_id, "a positive 32-bit integer", where)
        kind = _field(node, "kind", lambda v: v in KINDS, f"one of {', '.join(KINDS)}", where)
        if kind != _kind(nid, n_in, n_out):
            raise ValueError(f"network JSON: node {nid} is a{'n' if kind[0] in 'io' else ''} "
                             f"{kind} node, but with {n_in} inputs and {n_out} outputs it "
                             f"must be {_kind(nid, n_in, n_out)}")
        if nid in seen:
            raise ValueError(f"network JSON: node {nid} is listed twice")
        seen[nid] = kind
    expected = set(range(1, n_in + n_out + 1)) | {
        n for n in columns["in"] + columns["out"] if n > n_in + n_out}
    if set(seen) != expected:
        missing = sorted(expected - set(seen))
        extra = sorted(set(seen) - expected)
        raise ValueError("network JSON: the node list does not match the connections"
                         + (f"; missing nodes {missing[:8]}" if missing else "")
                         + (f"; unused nodes {extra[:8]}" if extra else ""))


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, fsynced
    and renamed over ``path``: readers see the old file or the new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        atomic_replace(Path(tmp), path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
