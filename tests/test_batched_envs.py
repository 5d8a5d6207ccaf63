"""ezspark's batched classic-control environments (``ezspark.batched.classic``, kernels
``_core._classic``) against gymnasium's own, bit for bit; the bookkeeping kernel
``tally_rows`` against its twin (issue 17 item 3).

Every comparison goes through ``ezspark.batched.compare``: many episodes from many reset
seeds, rows that reset alone and together, step as a prefix and swap, and at every step the
observation, reward, terminated and truncated (the 500 and 200-step time limits) compared to
the last bit.  Random actions, and policies that reach the ends random actions rarely reach
(CartPole's 500 steps, Acrobot's goal, MountainCar's goal and its left wall, Pendulum's
torque clipped at +-2).  Each runs on the compiled kernels and on their numpy twins.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from ezspark import _core
from ezspark.batched import BatchedMismatch, compare
from ezspark.batched.classic import Acrobot, CartPole, MountainCar, Pendulum


def mixed(rule, n_actions, p_random=0.1):
    """A policy: ``rule(obs)`` for every row, a uniformly random action with p_random."""
    def policy(obs, rng):
        chosen = np.asarray(rule(obs), dtype=np.int64)
        random = rng.integers(0, n_actions, size=len(chosen))
        return np.where(rng.random(len(chosen)) < p_random, random, chosen)
    return policy


def torques(obs, rng):
    """Pendulum torques from both sides of the bounds and between."""
    values = np.array([-3.0, -2.0, -0.5, 0.0, 1.25, 2.0, 2.5], dtype=np.float32)
    return rng.choice(values, size=(len(obs), 1)) + rng.normal(0, 0.01, (len(obs), 1)).astype(
        np.float32)


#: env id -> (class, [(policy, episodes, seed)]): random actions and policies that reach
#: the time limit or the goal.
CASES = {
    "CartPole-v1": (CartPole, [(None, 120, 0),
                               (mixed(lambda o: o[:, 2] + 0.3 * o[:, 3] > 0, 2, 0.05), 8, 1)]),
    "Acrobot-v1": (Acrobot, [(None, 4, 2), (mixed(lambda o: np.where(o[:, 5] > 0, 2, 0), 3), 24,
                                            3)]),
    "MountainCar-v0": (MountainCar, [(None, 8, 4),
                                     (mixed(lambda o: np.where(o[:, 1] > 0, 2, 0), 3), 16, 5),
                                     (mixed(lambda o: np.where(o[:, 1] < 0.01, 0, 2), 3, 0.3),
                                      12, 6)]),
    "Pendulum-v1": (Pendulum, [(None, 8, 7), (torques, 8, 8)]),
}


@pytest.mark.parametrize("env_id", list(CASES))
def test_batched_classic_plays_gymnasiums_episodes_bit_for_bit(kernels, env_id):
    cls, runs = CASES[env_id]
    for policy, episodes, seed in runs:
        steps = compare(env_id, episodes=episodes, rows=5, seed=1000 * seed + 17,
                        factory=functools.partial(cls, kernels=kernels), policy=policy)
        assert steps > episodes


def test_the_policies_reach_the_ends_they_are_there_for():
    """The heuristic policies above do reach the time limit, the goal and the wall."""
    lengths = {}
    for env_id in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
        cls, runs = CASES[env_id]
        policy, _, seed = runs[1]
        env = cls(4)
        obs, reward, term = np.zeros((4, env.observation_space.shape[0])), np.zeros(4), \
            np.zeros(4, dtype=bool)
        env.reset(np.arange(4), [seed, seed + 1, seed + 2, seed + 3], obs)
        rng, t, ended = np.random.default_rng(seed), 0, np.zeros(4, dtype=bool)
        while t < env.time_limit and not ended.all():
            env.step(4, policy(obs, rng), obs, reward, term)
            t += 1
            ended |= term
        lengths[env_id] = (t, ended.any())
    assert lengths["CartPole-v1"] == (500, False)
    assert lengths["Acrobot-v1"][1] and lengths["MountainCar-v0"][1]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", list(CASES))
def test_batched_classic_many_more_episodes(kernels, env_id):
    cls, runs = CASES[env_id]
    for policy, episodes, seed in runs:
        for rows in (1, 16):
            compare(env_id, episodes=episodes * 4, rows=rows, seed=seed * 7919 + rows,
                    factory=functools.partial(cls, kernels=kernels), policy=policy)


def test_compare_finds_a_difference_in_the_last_bit():
    class Off(CartPole):
        def step(self, n, actions, obs, reward, terminated):
            super().step(n, actions, obs, reward, terminated)
            obs[:n, 3] = np.nextafter(obs[:n, 3].astype(np.float32), np.float32(1))

    with pytest.raises(BatchedMismatch, match=r"CartPole-v1: episode 0 \(reset seed 0\), "
                                              r"step 1: the observation differs"):
        compare("CartPole-v1", episodes=2, rows=2, factory=Off)


def test_compare_checks_the_declared_time_limit():
    class Short(CartPole):
        time_limit = 499

    with pytest.raises(BatchedMismatch, match="time_limit differs: gymnasium 500"):
        compare("CartPole-v1", episodes=1, factory=Short)


# -- the kernels' contract ------------------------------------------------------------------

def arrays(rows, n_state, n_obs):
    return (np.zeros((rows, n_state)), np.zeros((rows, n_obs)), np.zeros(rows),
            np.zeros(rows, dtype=np.uint8))


STEPS = {"cartpole_step": (4, 4, 2), "acrobot_step": (4, 6, 3), "mountaincar_step": (2, 2, 3)}


@pytest.mark.parametrize("name", list(STEPS))
def test_a_bad_action_or_size_is_refused_before_any_row_changes(kernels, name):
    n_state, n_obs, n_actions = STEPS[name]
    fn = getattr(kernels, name)
    state, obs, reward, term = arrays(3, n_state, n_obs)
    state[:] = 0.01
    with pytest.raises(ValueError, match=rf"actions\[2\] = {n_actions} is not an action"):
        fn(3, state, np.array([0, 1, n_actions]), obs, reward, term)
    assert (state == 0.01).all() and (obs == 0).all()
    with pytest.raises(ValueError, match="exceeds"):
        fn(4, state, np.zeros(4, dtype=np.int64), obs, reward, term)
    with pytest.raises(ValueError, match="columns"):
        fn(1, state, np.zeros(3, dtype=np.int64), np.zeros((3, n_obs + 1)), reward, term)


def test_rows_after_n_are_not_touched(kernels):
    state, obs, reward, term = arrays(4, 2, 3)
    state[:] = [[1.0, 0.5]] * 4
    obs[:], reward[:], term[:] = 7.0, 7.0, 7
    kernels.pendulum_step(2, state, np.array([1.0, -1.0, 0.0, 0.0], np.float32), obs, reward,
                          term)
    assert (state[2:] == [1.0, 0.5]).all() and (obs[2:] == 7.0).all()
    assert (reward[2:] == 7.0).all() and (term[2:] == 7).all() and (term[:2] == 0).all()


def test_compiled_and_twin_agree_on_extreme_states():
    """States far outside an episode's range (large angles and velocities, a NaN) give the
    same bits from the kernel and its twin.  (Acrobot's stay finite and moderate: like
    gymnasium's, its angle wrapping loops forever on an infinite angle.)"""
    compiled = _core.load(pure=False) if _core.COMPILED else pytest.skip("not built")
    twin = _core.load(pure=True)
    rng = np.random.default_rng(0)
    for name, (n_state, n_obs, n_actions) in {**STEPS, "pendulum_step": (2, 3, 0)}.items():
        state = rng.normal(0, 3 if name == "acrobot_step" else 30, (64, n_state))
        state[0, 0] = math.nan
        if name != "acrobot_step":
            state[1, -1] = 1e300
        actions = (rng.uniform(-3, 3, 64).astype(np.float32) if not n_actions
                   else rng.integers(0, n_actions, 64))
        out = []
        for k in (compiled, twin):
            s, (_, o, r, t) = state.copy(), arrays(64, n_state, n_obs)
            with np.errstate(all="ignore"):
                getattr(k, name)(64, s, actions, o, r, t)
            out.append((s, o, r, t))
        for a, b in zip(*out):
            np.testing.assert_array_equal(a, b, err_msg=name)


# -- tally_rows: the batched loop's bookkeeping ---------------------------------------------

def tally(kernels, n, reward, terminated, X, cap=100, floor=0.0, length=None):
    rows = len(reward)
    b = dict(ret=np.arange(rows, dtype=np.float64), length=np.zeros(rows, dtype=np.int64)
             if length is None else length.copy(), cap=np.full(rows, cap, dtype=np.int64),
             finished=np.full(rows, -7, dtype=np.int64),
             state=np.array([0, 0, -1, 0], dtype=np.int64), low=np.array([math.inf]))
    k = kernels.tally_rows(n, reward, terminated.view(np.uint8), X, b["ret"], b["length"],
                           b["cap"], floor, b["finished"], b["state"], b["low"])
    return k, b


def test_tally_rows_sums_counts_and_ends(kernels):
    reward = np.array([1.0, -2.0, 0.5, -3.0, 9.0])
    terminated = np.array([False, True, False, False, True])
    X = np.ones((5, 2))
    X[2, 1] = math.inf
    k, b = tally(kernels, 4, reward, terminated, X, cap=2, length=np.array([0, 0, 0, 1, 0]))
    assert k == 2 and b["finished"][:2].tolist() == [1, 3]         # terminated, at the cap
    assert b["ret"].tolist() == [1.0, -1.0, 2.5, 0.0, 4.0]           # row 4 is beyond n
    assert b["length"].tolist() == [1, 1, 1, 2, 0]
    assert b["state"].tolist() == [0, 2, 2, 0] and b["low"][0] == -3.0


def test_tally_rows_kernel_and_twin_agree():
    compiled = _core.load(pure=False) if _core.COMPILED else pytest.skip("not built")
    twin = _core.load(pure=True)
    rng = np.random.default_rng(3)
    for _ in range(50):
        rows = int(rng.integers(1, 30))
        reward = rng.normal(0, 2, rows)
        reward[rng.random(rows) < 0.1] = np.nan
        X = rng.normal(0, 1, (rows, 3))
        X[rng.random((rows, 3)) < 0.05] = np.inf
        terminated = rng.random(rows) < 0.3
        length = rng.integers(0, 6, rows)
        n = int(rng.integers(0, rows + 1))
        a = tally(compiled, n, reward, terminated, X, cap=5, floor=-1.0, length=length)
        b = tally(twin, n, reward, terminated, X, cap=5, floor=-1.0, length=length)
        assert a[0] == b[0]
        for name in a[1]:
            np.testing.assert_array_equal(a[1][name], b[1][name], err_msg=name)


def test_tally_rows_refuses_n_beyond_an_array(kernels):
    with pytest.raises(ValueError, match="exceeds"):
        tally(kernels, 3, np.zeros(2), np.zeros(2, dtype=bool), np.zeros((2, 1)))


# --- resets: numpy's SeedSequence -> PCG64 -> uniform in one kernel call (_core.seeded_uniform)

#: seeds of one and two 32-bit words, their edges, and episode seeds of the size runs use
RESET_SEEDS = [0, 1, 7, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**40 + 3, 2**62, 2**63 - 1] + [
    int(s) for s in np.random.default_rng(11).integers(0, 2**63 - 1, 150)] + [
    int(s) for s in np.random.default_rng(12).integers(0, 2**32, 50)]


def test_seeded_uniform_draws_what_numpys_generator_draws(kernels):
    from gymnasium.utils.seeding import np_random

    seeds = np.array(RESET_SEEDS, dtype=np.int64)
    rows = np.random.default_rng(3).permutation(len(seeds) + 5)[:len(seeds)].astype(np.int64)
    for low, high in (([-0.05] * 4, [0.05] * 4), ([-np.pi, -1.0], [np.pi, 1.0]),
                      ([-0.6], [-0.4])):
        out = np.full((len(seeds) + 5, 5), 7.0)
        kernels.seeded_uniform(rows, seeds, np.array(low), np.array(high), out)
        want = np.array([np_random(s)[0].uniform(low=np.array(low), high=np.array(high))
                         for s in RESET_SEEDS])
        assert np.array_equal(out[rows, :len(low)].view(np.uint64), want.view(np.uint64))
        untouched = np.ones(out.shape, dtype=bool)
        untouched[rows, :len(low)] = False
        assert (out[untouched] == 7.0).all()


def test_seeded_uniform_refuses_bad_seeds_and_rows(kernels):
    out = np.zeros((3, 4))
    low, high = np.zeros(4), np.ones(4)
    for rows, seeds in (([0], [-1]), ([3], [0]), ([-1], [0]), ([0, 1], [0])):
        with pytest.raises(ValueError):
            kernels.seeded_uniform(np.array(rows, dtype=np.int64),
                                   np.array(seeds, dtype=np.int64), low, high, out)
    with pytest.raises(ValueError):
        kernels.seeded_uniform(np.array([0], dtype=np.int64), np.array([0], dtype=np.int64),
                               np.zeros(5), np.ones(5), out)
    assert (out == 0).all()


@pytest.mark.parametrize("env_id", list(CASES))
def test_resets_from_run_sized_seeds_are_gymnasiums(kernels, env_id):
    """Episode seeds are up to 2**63-1 (two 32-bit words of entropy); ``compare``'s are small:
    every row's first observation is gymnasium's for such seeds too, reset many at once."""
    import gymnasium

    cls = CASES[env_id][0]
    env, batched = gymnasium.make(env_id), cls(len(RESET_SEEDS) + 2, kernels=kernels)
    rows = np.arange(len(RESET_SEEDS), dtype=np.int64)[::-1] + 2
    obs = np.full((batched.rows, int(np.prod(batched.observation_space.shape))), 9.0)
    batched.reset(rows, RESET_SEEDS, obs)
    want = np.array([env.reset(seed=s)[0] for s in RESET_SEEDS], dtype=np.float64)
    assert np.array_equal(obs[rows].view(np.uint64), want.view(np.uint64))
    assert (obs[:2] == 9.0).all()
    with pytest.raises(ValueError):
        batched.reset(np.array([0], dtype=np.int64), [2**63], obs)
    env.close()
