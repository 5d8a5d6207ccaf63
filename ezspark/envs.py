"""Environments that ship with ezspark.

``ezspark/SlowCartPole-v1``
    CartPole-v1 whose every step also waits ``step_seconds`` (2 ms by default) before
    stepping: a stand-in for an expensive simulator, where evaluation time is dominated by
    the environment.  The wait is a sleep, not computation, so it shows how evaluation
    scales over workers even on a machine with few cores (the distributed scaling
    benchmark and ``examples/distributed/slow-cartpole.json`` use it).  Episodes are
    otherwise exactly CartPole-v1's: same dynamics, rewards, seeds and 500-step limit.

Which environments ezspark can train is decided here, in one place: `unsupported` says why
the spaces of an environment cannot be trained (docs/algorithm.md 2.3), and `env_support`
says whether an environment id can be trained with what is installed on this machine, and if
not, why ("continuous actions", "needs pip install gymnasium[mujoco]", ...).  Training,
``ezspark validate``, ``ezspark init`` and ``ezspark envs`` all ask them.
"""
from __future__ import annotations

import contextlib
import difflib
import re
import time
import warnings

import attrs
import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from ezspark.network.actions import box_problem
from ezspark.plugins.manager import get_plugin_manager

__all__ = ["SlowCartPole", "register_builtin_envs", "BUILTIN_ENVS", "SUPPORTED", "flat_size",
           "unsupported", "EnvSupport", "env_support"]

#: What ezspark can train; every message refusing an environment's spaces ends with it.
SUPPORTED = ("ezspark trains Discrete actions and bounded Box actions of shape (n,), with Box, "
             "Discrete, MultiBinary or MultiDiscrete observations ('ezspark envs' lists those "
             "it can train here)")

BUILTIN_ENVS = ("ezspark/SlowCartPole-v1",)


class SlowCartPole(CartPoleEnv):
    """CartPole-v1 with an artificial cost of ``step_seconds`` per step."""

    def __init__(self, step_seconds: float = 0.002, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.step_seconds = float(step_seconds)

    def step(self, action):
        time.sleep(self.step_seconds)
        return super().step(action)


def register_builtin_envs() -> None:
    """Register ezspark's environments with gymnasium (once; later calls do nothing)."""
    if "ezspark/SlowCartPole-v1" not in gymnasium.registry:
        gymnasium.register("ezspark/SlowCartPole-v1", entry_point="ezspark.envs:SlowCartPole",
                           max_episode_steps=500, reward_threshold=475.0)


def flat_size(space) -> int | None:
    """Number of input values of an observation space, or None if it is not supported."""
    if isinstance(space, spaces.Discrete):
        return 1
    if isinstance(space, (spaces.Box, spaces.MultiBinary, spaces.MultiDiscrete)):
        return int(np.prod(space.shape, dtype=np.int64))
    return None


def unsupported(observation_space, action_space) -> str | None:
    """Why ezspark cannot train an environment with these spaces, in a few words; None if it
    can (docs/algorithm.md 2.3)."""
    if flat_size(observation_space) is None:
        return f"{type(observation_space).__name__} observations"
    if isinstance(action_space, spaces.Box):
        return box_problem(action_space)
    if not isinstance(action_space, spaces.Discrete):
        return f"{type(action_space).__name__} actions"
    return None


@attrs.frozen
class EnvSupport:
    """Whether ezspark can train an environment here; the sizes it reads from its spaces."""

    env_id: str
    #: None when ezspark can train it; otherwise why not, in a few words.
    reason: str | None
    #: Shape and flattened size of one observation (None when unknown or unsupported).
    observation_shape: tuple[int, ...] | None = None
    observation_size: int | None = None
    #: The output_size the actions need: n for Discrete(n) or a Box of shape (n,) (None when
    #: they are neither, or unknown).
    actions: int | None = None
    #: True for a Box (continuous) action space.
    continuous: bool = False
    #: The registered time limit and "solved" return (None when the registry has none).
    max_episode_steps: int | None = None
    reward_threshold: float | None = None

    @property
    def trainable(self) -> bool:
        return self.reason is None


def env_support(env_id: str) -> EnvSupport:
    """Whether ezspark can train ``env_id`` with what is installed here, and if not, why.

    gymnasium sets an environment's spaces in its constructor, not in the registry, so the
    environment is made once, as training makes it (warnings silenced); gymnasium's own
    environments take milliseconds.  An environment that cannot be made is never an error
    here: its reason says what it needs ("needs pip install gymnasium[mujoco]").
    """
    register_builtin_envs()
    get_plugin_manager()  # plugin environments are registered when the manager is built
    try:
        with warnings.catch_warnings(), _mujoco_warnings_silenced():
            warnings.simplefilter("ignore")
            env = gymnasium.make(env_id)
    except Exception as exc:  # gymnasium and plugins raise many types: each is a reason
        return EnvSupport(env_id, _cannot_make(env_id, exc))
    try:
        obs_space, act_space, spec = env.observation_space, env.action_space, env.spec
    finally:
        env.close()
    size = flat_size(obs_space)
    return EnvSupport(
        env_id, unsupported(obs_space, act_space),
        observation_shape=None if size is None else tuple(int(n) for n in obs_space.shape),
        observation_size=size,
        actions=_action_count(act_space), continuous=isinstance(act_space, spaces.Box),
        max_episode_steps=spec.max_episode_steps if spec else None,
        reward_threshold=spec.reward_threshold if spec else None)


@contextlib.contextmanager
def _mujoco_warnings_silenced():
    """MuJoCo writes its model warnings (a deprecated attribute of HalfCheetah's model, ...)
    to MUJOCO_LOG.TXT in the working directory; listing environments must leave no file
    behind, so while one is made its warnings go nowhere (only when mujoco is installed)."""
    try:
        import mujoco
    except ImportError:
        yield
        return
    before = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(lambda message: None)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(before)


def _action_count(space) -> int | None:
    """n of Discrete(n) or of a Box of shape (n,); None otherwise."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return int(space.shape[0])
    return None


# `pip install "gymnasium[box2d]"`, as gymnasium's missing-dependency messages spell it.
_PIP_INSTALL = re.compile(r"pip install\s+[\"'`]*([\w.-]+(?:\[[\w,-]+\])?)")
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
# A link in parentheses, which a reason of a few words leaves out.
_LINK = re.compile(r"\s*\(https?://[^)]*\)")


def _cannot_make(env_id: str, exc: Exception) -> str:
    """The reason, in a few words, why ``gymnasium.make(env_id)`` raised ``exc``."""
    text = str(exc)
    if isinstance(exc, gymnasium.error.UnregisteredEnv):
        close = difflib.get_close_matches(env_id, sorted(gymnasium.registry), n=3, cutoff=0.6)
        return "not registered" + (f" (did you mean {' or '.join(close)}?)" if close else "")
    installs = _PIP_INSTALL.findall(text)
    if installs:  # an extra first: gymnasium says "pip install swig followed by ..."
        return "needs pip install " + next((i for i in installs if "[" in i), installs[0])
    missing = _NO_MODULE.search(text)
    if isinstance(exc, ModuleNotFoundError) and missing:
        return f"needs the Python module {missing.group(1)}"
    first = _LINK.sub("", text).split(". ")[0].strip().rstrip(".")
    return f"cannot be made: {first or type(exc).__name__}"
