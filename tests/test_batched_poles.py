"""ezspark's batched pole-balancing environments (``ezspark.batched.poles``, kernel
``_core._poles``) against ``ezspark.poles.PoleBalancingEnv``, bit for bit; the evaluator's
fitness on them equals the lockstep loop's (issue 17 item 3).

Random actions drop the poles within a few dozen steps; a noisy linear-quadratic controller
(gains from the system linearised at rest) balances them for up to the 1,000-step limit, so
the damping fitness's 100-step window and its correctly rounded sum are exercised too.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from ezspark.batched import compare, factory_for
from ezspark.batched.poles import (DoublePole, DoublePoleNoVel, DoublePoleNoVelDamping,
                                   SinglePole, SinglePoleNoVel)
from ezspark.plugins.poles import ENVS

from .test_batched_eval import assert_same, play_both, programs, SIZES

CLASSES = {"ezspark/SinglePole-v0": SinglePole, "ezspark/SinglePoleNoVel-v0": SinglePoleNoVel,
           "ezspark/DoublePole-v0": DoublePole, "ezspark/DoublePoleNoVel-v0": DoublePoleNoVel,
           "ezspark/DoublePoleNoVelDamping-v0": DoublePoleNoVelDamping}

#: action = clip(-K s): discrete-time LQR gains of the linearised system (no cart friction)
GAINS = {1: np.array([-0.2781, -0.515, -4.3883, -1.1575]),
         2: np.array([0.1697, 0.3602, 6.7095, 1.7761, -4.8833, -0.4355])}


def lqr(env, obs, rng, noise):
    """Actions of the rows of ``env`` from their full state (the observation may lack the
    velocities), with Gaussian noise."""
    state = env.state[:len(obs)]
    action = -(state @ GAINS[env.POLES]) + rng.normal(0, noise, len(obs))
    return action.astype(np.float32).reshape(-1, 1)


def controlled(cls, kernels, noise):
    """(factory, policy) for ``compare``: the policy steers the batched rows it made."""
    made = []

    def factory(rows):
        made.append(cls(rows, kernels=kernels))
        return made[-1]

    return factory, lambda obs, rng: lqr(made[-1], obs, rng, noise)


def test_every_pole_id_has_its_batched_version():
    assert set(CLASSES) == set(ENVS)
    for env_id, cls in CLASSES.items():
        assert factory_for(env_id) is cls


@pytest.mark.parametrize("env_id", list(CLASSES))
def test_batched_poles_play_the_environments_episodes_bit_for_bit(kernels, env_id):
    cls = CLASSES[env_id]
    assert compare(env_id, episodes=12, rows=4, seed=1,
                   factory=lambda rows: cls(rows, kernels=kernels)) > 12
    for noise, episodes, seed in ((0.05, 2, 2), (0.6, 3, 3)):
        factory, policy = controlled(cls, kernels, noise)
        compare(env_id, episodes=episodes, rows=2, seed=seed, factory=factory, policy=policy)


def test_the_controller_balances_the_double_pole_to_the_limit_and_damping_pays():
    env = DoublePoleNoVelDamping(2)
    obs, reward, term = np.zeros((2, 3)), np.zeros(2), np.zeros(2, dtype=bool)
    env.reset(np.arange(2), [0, 1], obs)
    rng, total = np.random.default_rng(0), np.zeros(2)
    for _ in range(env.time_limit):
        env.step(2, lqr(env, obs, rng, 0.05), obs, reward, term)
        total += reward
        assert not term.any()
    assert (env.balanced == 1000).all() and (total > 0.1 + 0.9 * 0.75 / 100).all()


def test_a_nan_action_is_refused(kernels):
    env = SinglePole(2, kernels=kernels)
    obs = np.zeros((2, 4))
    env.reset(np.arange(2), [0, 0], obs)
    with pytest.raises(ValueError, match=r"actions\[1\] is NaN"):
        env.step(2, np.array([[0.5], [math.nan]], dtype=np.float32), obs, np.zeros(2),
                 np.zeros(2, dtype=bool))
    assert (env.balanced == 0).all()


def test_the_damping_sum_is_math_fsum_to_the_last_bit(kernels):
    """Windows whose plain sum rounds differently from the exact one: the damping term is
    0.75 / math.fsum(window), to the last bit."""
    rng = np.random.default_rng(4)
    window = np.abs(rng.standard_cauchy((3, 100))) * np.array([[1e-3], [1.0], [1e8]])
    window[:, 0] = [1e16, 1.0, 3.0]
    window[:, 99] = 0.0        # the slot the step writes: the state at rest sums to 0
    f2, balanced = np.zeros(3), np.full(3, 199, dtype=np.int64)
    kernels.poles_step(3, np.zeros((3, 6)), np.zeros(3, np.float32), np.zeros((3, 3)),
                       np.zeros(3), np.zeros(3, np.uint8), balanced, f2, window.copy(), 2,
                       False, True, 0.0005, 0.000002)
    exact = [0.75 / math.fsum(row) for row in window.tolist()]
    assert f2.tolist() == exact
    assert exact != [0.75 / sum(row) for row in window.tolist()]     # the test has teeth


@pytest.mark.parametrize("env_id", ["ezspark/SinglePole-v0", "ezspark/DoublePoleNoVel-v0",
                                    "ezspark/DoublePoleNoVelDamping-v0"])
def test_pole_fitness_is_the_lockstep_fitness(env_id, monkeypatch):
    n_in = 4 if env_id == "ezspark/SinglePole-v0" else 3
    monkeypatch.setitem(SIZES, env_id, (n_in, 1))
    progs, info = programs(env_id, 30, seed=2)
    lock, lock_calls, batched, batched_calls = play_both(info, progs, max_rows=9,
                                                         sub_games=2, max_steps=1000)
    assert_same(lock, batched)
    assert lock_calls == batched_calls
