"""Built-in plugin: registers ezspark's compiled batched versions of gymnasium's
classic-control environments (``ezspark.batched.classic``) for CartPole-v1, Acrobot-v1,
MountainCar-v0 and Pendulum-v1.

Written as a third-party plugin would be (``ezspark_register_batched_envs``).  Each is
registered only while gymnasium's registry holds the environment it reproduces (the same
entry point and time limit, no arguments), so an id registered anew elsewhere is played by
its own environment.  ``EZSPARK_NO_BATCHED_ENVS=1``, or blocking this plugin's name
(``ezspark.plugins.batched``), leaves evaluation to gymnasium's environments.
"""
from __future__ import annotations

import gymnasium

from ezspark import hookimpl

_GYM = "gymnasium.envs.classic_control"

#: gymnasium id -> (the batched version, gymnasium's entry point it reproduces, time limit).
ENVS = {
    "CartPole-v1": ("ezspark.batched.classic:CartPole", f"{_GYM}.cartpole:CartPoleEnv", 500),
    "Acrobot-v1": ("ezspark.batched.classic:Acrobot", f"{_GYM}.acrobot:AcrobotEnv", 500),
    "MountainCar-v0": ("ezspark.batched.classic:MountainCar",
                       f"{_GYM}.mountain_car:MountainCarEnv", 200),
    "Pendulum-v1": ("ezspark.batched.classic:Pendulum", f"{_GYM}.pendulum:PendulumEnv", 200),
}


@hookimpl
def ezspark_register_batched_envs(register):
    for env_id, (factory, entry_point, steps) in ENVS.items():
        spec = gymnasium.registry.get(env_id)
        if (spec is not None and spec.entry_point == entry_point and not spec.kwargs
                and spec.max_episode_steps == steps):
            register(env_id, factory)
