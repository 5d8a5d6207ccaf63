"""Tests written for mutants of the stepping kernel's numpy twin (``_core/_step_py.py``) that
survived mutation testing (docs/testing.md, "Mutation testing").  Each runs on both kernels
(``kernels`` fixture): the compiled one is the oracle of the contract in ``_step.pxd``."""
from __future__ import annotations

import math

import numpy as np
import pytest

ROW_ARRAYS = ("actions", "X", "ret", "length", "cap", "finished")
WRITTEN_ARRAYS = ("X", "ret", "length", "finished", "state", "low")


class OneStepEnv:
    """``step`` records its action and returns (obs, reward, False, False, {})."""

    def __init__(self, obs, reward=1.0):
        self.obs, self.reward, self.actions = obs, reward, []

    def step(self, action):
        self.actions.append(action)
        return self.obs, self.reward, False, False, {}


def arrays(n, n_in=3):
    return dict(actions=np.zeros(n, dtype=np.int64), X=np.zeros((n, n_in)), ret=np.zeros(n),
                length=np.zeros(n, dtype=np.int64), cap=np.full(n, 100, dtype=np.int64),
                finished=np.full(n, -7, dtype=np.int64),
                state=np.array([0, 0, -1, 0], dtype=np.int64), low=np.array([math.inf]))


def step(kernels, n, envs, a, floor=0.0, put=None):
    return kernels.step_rows(n, [e.step for e in envs], a["actions"], (0,), a["X"], a["ret"],
                             a["length"], a["cap"], floor, a["finished"], a["state"], a["low"],
                             put)


def snapshot(a):
    return {name: v.copy() for name, v in a.items()}


def assert_unchanged(a, before):
    for name in a:
        np.testing.assert_array_equal(a[name], before[name], err_msg=name)


def test_n_zero_steps_nothing_and_returns_zero(kernels):
    envs = [OneStepEnv(np.zeros(3))]
    a = arrays(1)
    before = snapshot(a)
    assert step(kernels, 0, envs, a) == 0
    assert envs[0].actions == []
    assert_unchanged(a, before)


@pytest.mark.parametrize("name", WRITTEN_ARRAYS)
def test_a_read_only_output_array_is_refused_before_any_step(kernels, name):
    """Even with n = 0, as a memoryview of a writable buffer refuses a read-only array."""
    envs = [OneStepEnv(np.zeros(3))]
    a = arrays(1)
    a[name].flags.writeable = False
    for n in (0, 1):
        with pytest.raises(ValueError):
            step(kernels, n, envs, a)
    assert envs[0].actions == []


@pytest.mark.parametrize("short", ("steps",) + ROW_ARRAYS)
def test_n_beyond_one_row_array_is_refused_before_any_step(kernels, short):
    """Every row array (and the steps list) must have n entries: one too short is a
    ValueError before the first row is stepped, not an IndexError halfway."""
    n = 3
    envs = [OneStepEnv(np.zeros(3)) for _ in range(n)]
    a = arrays(n)
    if short != "steps":
        a[short] = np.ascontiguousarray(a[short][:-1])
    before = snapshot(a)
    steps = [e.step for e in envs][:-1 if short == "steps" else n]
    with pytest.raises(ValueError, match="exceeds"):
        kernels.step_rows(n, steps, a["actions"], (0,), a["X"], a["ret"], a["length"],
                          a["cap"], 0.0, a["finished"], a["state"], a["low"], None)
    assert [e.actions for e in envs] == [[]] * n
    assert_unchanged(a, before)


@pytest.mark.parametrize("name,size", [("state", 3), ("low", 0)])
def test_short_state_or_low_is_refused_before_any_step(kernels, name, size):
    envs = [OneStepEnv(np.zeros(3))]
    a = arrays(1)
    a[name] = np.ascontiguousarray(a[name][:size])
    for n in (0, 1):
        with pytest.raises(ValueError, match="state needs 4 entries and low 1"):
            step(kernels, n, envs, a)
    assert envs[0].actions == []


@pytest.mark.parametrize("first,second", [(0.0, -0.0), (-0.0, 0.0)])
def test_the_first_of_equal_low_rewards_is_kept(kernels, first, second):
    """low[0] changes only on a strictly lower reward: of 0.0 and -0.0 (equal) the first
    stays, sign included (it is the min_reward of the RewardBelowMinimum warning)."""
    envs = [OneStepEnv(np.zeros(3), first), OneStepEnv(np.zeros(3), second)]
    a = arrays(2)
    step(kernels, 2, envs, a, floor=1.0)
    assert a["state"][1] == 2 and a["low"][0] == 0.0
    assert np.signbit(a["low"][0]) == np.signbit(first)


@pytest.mark.parametrize("shape", [(3, 1), (1, 3, 1)])
def test_a_column_observation_is_copied_flat_without_put(kernels, shape):
    obs = np.array([1.5, -2.0, 0.25]).reshape(shape)
    calls = []
    a = arrays(1)
    step(kernels, 1, [OneStepEnv(obs)], a, put=lambda r, o: calls.append(r))
    assert calls == [] and a["state"][3] == 0
    np.testing.assert_array_equal(a["X"][0], [1.5, -2.0, 0.25])
