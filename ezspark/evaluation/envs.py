"""Making, checking and seeding gymnasium environments (docs/algorithm.md 2.3 and 6.2).

gymnasium is imported inside the functions that need it: it takes about 0.4 s to import,
and ``import ezspark`` (the CLI's start, a fitness-function run) does not need it.
"""
from __future__ import annotations

import difflib
import hashlib
from typing import Any

from ezspark.network.actions import box_actions
from ezspark.plugins.manager import get_plugin_manager

__all__ = ["EnvError", "EnvInfo", "episode_seed", "inspect_env", "make_env", "FastEnv"]


class EnvError(ValueError):
    """An environment cannot be used with the configuration (a user mistake)."""


def episode_seed(seed: int, generation: int, genome: int, game: int) -> int:
    """e(k, i, g) of docs/algorithm.md 6.2: the first 4 bytes of SHA-256 of
    ``ezspark-episode:{seed}:{k}:{i}:{g}``, little-endian, low 31 bits."""
    digest = hashlib.sha256(f"ezspark-episode:{seed}:{generation}:{genome}:{game}".encode("ascii"))
    return int.from_bytes(digest.digest()[:4], "little") & 0x7FFFFFFF


def _registered_ids() -> list[str]:
    import gymnasium

    return sorted(gymnasium.registry.keys())


def make_env(env_id: str, **kwargs: Any):
    """``gymnasium.make(env_id)``, with an EnvError naming the id (and close matches) on failure.

    Plugin environments are registered first (building the plugin manager once)."""
    import gymnasium

    # deferred: gymnasium (ezspark.envs subclasses one of its environments)
    from ezspark.envs import register_builtin_envs
    register_builtin_envs()
    get_plugin_manager()

    try:
        return gymnasium.make(env_id, **kwargs)
    except Exception as exc:  # gymnasium raises many types (Error, ModuleNotFound, ...)
        hint = ""
        if ":" not in env_id:
            close = difflib.get_close_matches(env_id, _registered_ids(), n=3, cutoff=0.6)
            if close:
                hint = "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        raise EnvError(f"gym_game_name {env_id!r}: gymnasium.make failed: "
                       f"{type(exc).__name__}: {exc}{hint}") from exc


class EnvInfo:
    """What evaluation needs to know about an environment id."""

    __slots__ = ("env_id", "input_size", "output_size", "action_start", "box")

    def __init__(self, env_id: str, input_size: int, output_size: int, action_start: int,
                 box=None):
        self.env_id = env_id
        self.input_size = input_size
        self.output_size = output_size
        self.action_start = action_start
        # BoxActions of a continuous action space, None for Discrete; evaluation reads the
        # bounds off its own environments, the run store and champions from here
        self.box = box


def inspect_env(env_id: str, input_size: int, output_size: int) -> EnvInfo:
    """docs/algorithm.md 2.3: make the env once and check its spaces against the configuration."""
    # deferred: gymnasium (ezspark.envs subclasses one of its environments)
    from ezspark.envs import SUPPORTED, flat_size, unsupported
    from gymnasium import spaces

    env = make_env(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    reason = unsupported(obs_space, act_space)  # the one place that says what can be trained
    if reason is not None:
        raise EnvError(f"{env_id} has {reason}; {SUPPORTED}")
    size = flat_size(obs_space)
    if size != input_size:
        raise EnvError(f"input_size is {input_size} but observations of {env_id} have "
                       f"{size} values")
    if isinstance(act_space, spaces.Box):
        box = box_actions(act_space)
        if box.size != output_size:
            raise EnvError(f"output_size is {output_size} but {env_id} has {box} "
                           f"({act_space}): set output_size to {box.size}")
        return EnvInfo(env_id, input_size, output_size, 0, box)
    if int(act_space.n) != output_size:
        raise EnvError(f"output_size is {output_size} but {env_id} has {int(act_space.n)} "
                       "actions")
    return EnvInfo(env_id, input_size, output_size, int(act_space.start))


# Wrappers that gymnasium.make adds by default and that change nothing an episode returns
# once the environment is used correctly (reset before step, valid actions): stepping the
# inner env directly saves their per-step cost.  TimeLimit is re-applied by FastEnv.
_TRANSPARENT = {"OrderEnforcing", "PassiveEnvChecker", "TimeLimit"}


class FastEnv:
    """One environment instance from ``gymnasium.make``, stepped as cheaply as is safe.

    When the wrapper chain holds only gymnasium's default wrappers, ``step`` calls the
    unwrapped env and applies the time limit itself (``truncated`` at the registered
    ``max_episode_steps``), which returns exactly what the wrapped env would.  Any other
    wrapper keeps the whole chain.
    """

    __slots__ = ("env", "step", "reset", "time_limit")

    def __init__(self, env_id: str):
        self.env = make_env(env_id)
        chain, time_limit, env = [], None, self.env
        while hasattr(env, "env") and env is not env.unwrapped:
            name = type(env).__name__
            chain.append(name)
            if name == "TimeLimit":
                time_limit = int(env._max_episode_steps)
            env = env.env
        if set(chain) <= _TRANSPARENT:
            target = self.env.unwrapped
            self.time_limit = time_limit
        else:
            target = self.env
            self.time_limit = None
        self.step = target.step
        self.reset = target.reset

    def close(self):
        self.env.close()
