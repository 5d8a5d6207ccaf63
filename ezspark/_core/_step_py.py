"""Pure-Python twin of ``_step.pyx``: lockstep stepping of a batch of environments, and the
same bookkeeping for a batched environment (``tally_rows``).

Same signature, same results and the same ``state`` bookkeeping as the compiled kernel
(contract in ``_step.pxd``).
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_array

__all__ = ["step_rows", "tally_rows"]


def _direct(obs, n_in: int) -> bool:
    """obs is copied as it is (no ``put``): exactly what the compiled ``_copy_obs`` accepts, a
    C-contiguous, aligned float32/float64 ndarray of n_in values in native byte order."""
    return (type(obs) is np.ndarray and obs.flags.c_contiguous and obs.flags.aligned
            and obs.size == n_in and obs.dtype.isnative
            and obs.dtype.type in (np.float32, np.float64))


def step_rows(n, steps, actions, table, X, ret, length, cap, floor, finished, state, low, put):
    """Step rows 0 ... n-1 once; returns how many finished (their rows are in finished[:k])."""
    if not isinstance(steps, list):
        raise TypeError(f"steps must be a list, got {type(steps).__name__}")
    if not isinstance(table, tuple):
        raise TypeError(f"table must be a tuple, got {type(table).__name__}")
    actions = check_array(actions, "i", 8, 1, "actions")
    X = check_array(X, "f", 8, 2, "X", writeable=True)
    ret = check_array(ret, "f", 8, 1, "ret", writeable=True)
    length = check_array(length, "i", 8, 1, "length", writeable=True)
    cap = check_array(cap, "i", 8, 1, "cap")
    finished = check_array(finished, "i", 8, 1, "finished", writeable=True)
    state = check_array(state, "i", 8, 1, "state", writeable=True)
    low = check_array(low, "f", 8, 1, "low", writeable=True)
    n = int(n)
    floor = float(floor)
    if n < 0 or n > min(len(steps), actions.shape[0], X.shape[0], ret.shape[0],
                        length.shape[0], cap.shape[0], finished.shape[0]):
        raise ValueError(f"n = {n} exceeds the length of a row array")
    if state.shape[0] < 4 or low.shape[0] < 1:
        raise ValueError("state needs 4 entries and low 1")
    n_in, n_act, k = X.shape[1], len(table), 0
    for r in range(n):
        a = int(actions[r])
        if a < 0 or a >= n_act:
            raise ValueError(f"actions[{r}] = {a} is not an index into the {n_act} actions")
        state[0] = r
        state[3] = 0
        obs, reward, terminated, truncated, _ = steps[r](table[a])
        reward = float(reward)
        if reward < floor:
            state[1] += 1
            if reward < low[0]:
                low[0] = reward
        ret[r] += reward
        length[r] += 1
        if terminated or truncated or length[r] >= cap[r]:
            finished[k] = r
            k += 1
            continue
        if _direct(obs, n_in):
            X[r] = obs.reshape(-1)
        else:
            state[3] = 1
            put(r, obs)
        if state[2] < 0 and not all(math.isfinite(v) for v in X[r].tolist()):
            state[2] = r
    return k


def tally_rows(n, reward, terminated, X, ret, length, cap, floor, finished, state, low):
    """step_rows' bookkeeping for rows 0 ... n-1 that a batched environment has stepped
    (rewards and terminated flags given, observations already in X); returns how many
    finished (their rows are in finished[:k])."""
    reward = check_array(reward, "f", 8, 1, "reward")
    terminated = check_array(terminated, "u", 1, 1, "terminated")
    X = check_array(X, "f", 8, 2, "X")
    ret = check_array(ret, "f", 8, 1, "ret", writeable=True)
    length = check_array(length, "i", 8, 1, "length", writeable=True)
    cap = check_array(cap, "i", 8, 1, "cap")
    finished = check_array(finished, "i", 8, 1, "finished", writeable=True)
    state = check_array(state, "i", 8, 1, "state", writeable=True)
    low = check_array(low, "f", 8, 1, "low", writeable=True)
    n, floor = int(n), float(floor)
    if n < 0 or n > min(reward.shape[0], terminated.shape[0], X.shape[0], ret.shape[0],
                        length.shape[0], cap.shape[0], finished.shape[0]):
        raise ValueError(f"n = {n} exceeds the length of a row array")
    if state.shape[0] < 4 or low.shape[0] < 1:
        raise ValueError("state needs 4 entries and low 1")
    values = reward[:n]
    below = values < floor
    state[1] += int(np.count_nonzero(below))
    for value in values[below].tolist():            # in row order, as the kernel
        if value < low[0]:
            low[0] = value
    ret[:n] += values
    length[:n] += 1
    ended = (terminated[:n] != 0) | (length[:n] >= cap[:n])
    rows = np.flatnonzero(ended)
    finished[:rows.size] = rows
    if state[2] < 0:
        bad = np.flatnonzero(~ended & ~np.isfinite(X[:n]).all(axis=1))
        if bad.size:
            state[2] = int(bad[0])
    return int(rows.size)
