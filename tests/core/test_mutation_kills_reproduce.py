"""Tests written for mutants of the reproduction kernel's numpy twin (``_core/_reproduce_py.py``)
that survived mutation testing (docs/testing.md, "Mutation testing").  Each runs on both
kernels (``kernels`` fixture): the compiled one is the oracle of the contract in
``_reproduce.pxd`` (registry arrays updated in place, tables of a power of two >= 2 slots)."""
from __future__ import annotations

import numpy as np
import pytest

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import CHILD_DRAWS, GENE_DRAWS
from ezspark.engine.population import Population

REGISTRY_ARRAYS = ("pair_keys", "pair_values", "split_keys", "split_values", "counters")
EMPTY = -1


def registry_dict(registry) -> dict:
    return {name: getattr(registry, name) for name in REGISTRY_ARRAYS}


def out_arrays(n_children: int, capacity: int) -> list:
    return [np.full(n_children + 1, -9, np.int64), np.full(capacity, -9, np.int32),
            np.full(capacity, -9, np.int32), np.full(capacity, -9, np.int32),
            np.full(capacity, np.nan), np.zeros(capacity, np.bool_)]


def reproduce(kernels, parent: Genome, child_u, p_add: float, reg: dict, out: list,
              n_io=(2, 1)) -> int:
    """One child per row of ``child_u``, all of ``parent``; every rate but ``p_add`` is 0."""
    pop = Population.from_genomes([parent])
    q, n = len(child_u), len(parent)
    return kernels.reproduce(
        pop.off, pop.innovation, pop.src, pop.dst, pop.weight, pop.enabled,
        np.zeros(q, np.int64), np.zeros(q, np.uint8), np.full(q, p_add),
        np.full((q * n, GENE_DRAWS), 0.9), np.zeros(q * n),
        np.asarray(child_u, dtype=np.float64).reshape(q, CHILD_DRAWS),
        0.0, 0.0, 0.0, 0.0, 0.0, *n_io, *(reg[name] for name in REGISTRY_ARRAYS), *out)


@pytest.mark.parametrize("name", REGISTRY_ARRAYS)
@pytest.mark.parametrize("n_children", [0, 2])
def test_a_read_only_registry_array_is_refused_before_any_child(kernels, name, n_children):
    """The registry arrays are updated in place, so each must be writable, even when the plan
    registers nothing (no children, or children that copy their parent): ValueError, and no
    child is written."""
    registry = InnovationRegistry(2, 1)
    parent = Genome([1, 2], [1, 2], [3, 3], [0.5, -0.5], [True, False])
    reg = {key: value.copy() for key, value in registry_dict(registry).items()}
    before = {key: value.copy() for key, value in reg.items()}
    reg[name].flags.writeable = False
    out = out_arrays(n_children, 2 * n_children + 3 * n_children)
    with pytest.raises(ValueError, match="read-only"):
        reproduce(kernels, parent, np.full((n_children, CHILD_DRAWS), 0.9), 0.0, reg, out)
    assert out[0].tolist() == [-9] * (n_children + 1)
    for key in REGISTRY_ARRAYS:
        np.testing.assert_array_equal(reg[key], before[key], err_msg=key)


def two_slot_registry() -> dict:
    """Raw registry arrays for 1 input and 1 output: both tables of 2 slots, both empty."""
    return {"pair_keys": np.full(2, EMPTY, np.int64), "pair_values": np.zeros(2, np.int32),
            "split_keys": np.full(2, EMPTY, np.int64),
            "split_values": np.zeros((2, 2), np.int32),
            "counters": np.array([3, 1, 0, 0], np.int64)}


def test_registry_tables_of_two_slots_are_accepted_and_used(kernels):
    """2 is the smallest power of two the contract allows; a table of 2 slots holds one entry
    (at most half full): the only candidate connection 1 -> 2 gets innovation 1 there."""
    reg = two_slot_registry()
    out = out_arrays(1, 3)
    total = reproduce(kernels, Genome([], [], [], [], []), [[0.0, 0.9, 0.0, 0.0, 0.9, 0.9]],
                      1.0, reg, out, n_io=(1, 1))
    assert total == 1 and out[0].tolist() == [0, 1]
    assert (out[1][0], out[2][0], out[3][0], bool(out[5][0])) == (1, 1, 2, True)
    assert reg["counters"].tolist() == [3, 2, 1, 0]
    slot = int(np.flatnonzero(reg["pair_keys"] != EMPTY)[0])
    assert reg["pair_keys"][slot] == (1 << 32) | 2 and reg["pair_values"][slot] == 1
    assert reg["split_keys"].tolist() == [EMPTY, EMPTY]


@pytest.mark.parametrize("table", ["pair_keys", "split_keys"])
@pytest.mark.parametrize("slots", [0, 1, 3, 6])
def test_registry_tables_must_have_a_power_of_two_slots_of_at_least_two(kernels, table, slots):
    reg = two_slot_registry()
    values = table.replace("keys", "values")
    reg[table] = np.full(slots, EMPTY, np.int64)
    reg[values] = np.zeros((slots,) + reg[values].shape[1:], np.int32)
    with pytest.raises(ValueError, match="power of two"):
        reproduce(kernels, Genome([], [], [], [], []), np.zeros((0, CHILD_DRAWS)), 0.0, reg,
                  out_arrays(0, 0), n_io=(1, 1))
