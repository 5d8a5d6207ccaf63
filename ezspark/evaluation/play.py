"""Playing a champion in its environment: fresh episodes, outside training."""
from __future__ import annotations

import numpy as np

from ezspark.evaluation.envs import EnvError, inspect_env, make_env
from ezspark.evaluation.local import EnvEvaluator
from ezspark.evaluation.processes import ProcessEvaluator

__all__ = ["play_episodes", "episode_returns"]


def play_episodes(champion, env_id: str | None = None, *, episodes: int = 1, seed: int = 0,
                  max_steps: int | None = None, env=None) -> list[float]:
    """Returns of ``episodes`` episodes; episode e starts with ``reset(seed=seed + e)``.

    The episode ends when the environment says so (its own time limit included) or after
    ``max_steps`` steps.  ``env`` may be a ready environment (for rendering or recording);
    otherwise one is made from ``env_id`` (default: the champion's) and closed afterwards.
    """
    env_id = env_id or champion.env_id
    own = env is None
    if not env_id:
        raise EnvError("this champion was trained without an environment: name one with "
                       "--env ID (env_id=ID in Python)")
    info = inspect_env(env_id, champion.observation_size, champion.n_outputs)
    check_action_kind(champion, info)
    start = info.action_start
    if own:
        env = make_env(env_id)
    programs = champion.programs.with_state(1)   # recurrent: reset at every episode
    row = np.zeros(1, dtype=np.intp)
    x = np.zeros((1, champion.observation_size))
    returns = []
    try:
        for e in range(episodes):
            obs, _ = env.reset(seed=seed + e)
            programs.reset()
            total, steps = 0.0, 0
            while True:
                flat = np.asarray(obs, dtype=np.float64).reshape(-1)
                if flat.shape[0] != x.shape[1]:
                    raise EnvError(f"{env_id} returned an observation with {flat.shape[0]} "
                                   f"values, but the network has {x.shape[1]} inputs")
                x[0] = flat
                if info.box is None:
                    action = int(programs.act_rows(row, x)[0]) + start
                else:
                    action = info.box.of(programs.activate_rows(row, x)[0])
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                steps += 1
                if terminated or truncated or (max_steps is not None and steps >= max_steps):
                    break
            returns.append(total)
    finally:
        if own:
            env.close()
    return returns


def check_action_kind(champion, info) -> None:
    """EnvError when the champion's outputs were made for the other kind of action space
    (continuous outputs have no +1 bias: docs/algorithm.md 3.4)."""
    trained = "continuous" if champion.actions is not None else "discrete"
    here = "continuous" if info.box is not None else "discrete"
    if trained != here:
        raise EnvError(f"this champion was trained for {trained} actions, but {info.env_id} "
                       f"has {here} actions")


def episode_returns(champion, env_id: str | None = None, *, episodes: int = 1, seed: int = 0,
                    max_steps: int | None = None, workers: int = 1) -> list[float]:
    """The returns ``play_episodes`` gives (same episodes: episode e starts with
    ``reset(seed=seed + e)``; same ends; same sums), computed the way training evaluates:
    all episodes batched through ``EnvEvaluator`` (one network call per step for every
    running episode, the lockstep stepping kernel, gymnasium's default wrappers stepped
    through ``FastEnv``), on ``workers`` processes when ``workers`` > 1.  For validating a
    champion on many fresh episodes; for rendering or a custom env use ``play_episodes``.
    Errors are those of training (``EvaluationError`` naming the episode as "genome e").
    """
    env_id = env_id or champion.env_id
    if not env_id:
        raise EnvError("this champion was trained without an environment: name one with "
                       "--env ID (env_id=ID in Python)")
    episodes = int(episodes)
    if episodes <= 0:
        return []
    info = inspect_env(env_id, champion.observation_size, champion.n_outputs)
    check_action_kind(champion, info)
    cap = (1 << 62) if max_steps is None else int(max_steps)
    kwargs = dict(games=1, max_steps=cap, sub_games=1, minimum_reward=-np.inf)
    programs = champion.programs.subset(np.zeros(episodes, dtype=np.int64))
    seeds = (seed + np.arange(episodes, dtype=np.int64)).reshape(episodes, 1)
    if workers > 1:
        # one champion: episodes of similar cost, so each worker may hold its whole share
        evaluator = ProcessEvaluator(info, workers, chunks_per_worker=1, **kwargs)
    else:
        evaluator = EnvEvaluator(info, **kwargs)
    try:
        result = evaluator.play(programs, seeds, generation=-1,
                                genome_ids=np.arange(episodes))
    finally:
        evaluator.close()
    return result.fitness.tolist()    # games = 1: the fitness is the return itself
