"""Built-in plugin: registers ezspark's pole-balancing environments with gymnasium.

Written as a third-party plugin would be (``ezspark_register_envs``); the environments
themselves are ``ezspark.poles.PoleBalancingEnv`` (the physics, its parameters and their
sources, and the ``solved`` test: docs/poles.md).  Every id ends an episode after 1,000
steps, the episode length of the papers' evolution runs:

- ``ezspark/SinglePole-v0``: one pole, the controller sees x, x', theta, theta'.
- ``ezspark/SinglePoleNoVel-v0``: one pole, the controller sees x and theta only.
- ``ezspark/DoublePole-v0``: two poles, the controller sees all six variables.
- ``ezspark/DoublePoleNoVel-v0``: two poles, the controller sees x, theta1, theta2.
- ``ezspark/DoublePoleNoVelDamping-v0``: the same, rewarded so that the return is the
  damping fitness of Gruau, Whitley and Pyeatt (1996).

The first four pay 1 per step balanced.  Each id also gets its batched version
(``ezspark.batched.poles``: every live episode stepped by one compiled kernel call, the same
episodes bit for bit).  Block the plugin name ``ezspark.plugins.poles`` to leave them
unregistered.
"""
from __future__ import annotations

import gymnasium

from ezspark import hookimpl

ENTRY_POINT = "ezspark.poles:PoleBalancingEnv"

#: id -> the environment's keyword arguments.
ENVS = {
    "ezspark/SinglePole-v0": {"poles": 1, "velocities": True},
    "ezspark/SinglePoleNoVel-v0": {"poles": 1, "velocities": False},
    "ezspark/DoublePole-v0": {"poles": 2, "velocities": True},
    "ezspark/DoublePoleNoVel-v0": {"poles": 2, "velocities": False},
    "ezspark/DoublePoleNoVelDamping-v0": {"poles": 2, "velocities": False,
                                          "fitness": "damping"},
}

#: The time limit of every id: the 1,000 steps of the papers' evolution episodes.
MAX_EPISODE_STEPS = 1000


@hookimpl
def ezspark_register_envs(register):
    for env_id, kwargs in ENVS.items():
        steps = kwargs.get("fitness", "steps") == "steps"
        register(env_id, ENTRY_POINT, max_episode_steps=MAX_EPISODE_STEPS, kwargs=dict(kwargs),
                 reward_threshold=float(MAX_EPISODE_STEPS) if steps else None)


#: id -> its batched version.
BATCHED = {env_id: "ezspark.batched.poles:" + env_id.split("/")[1].split("-")[0]
           for env_id in ENVS}


@hookimpl
def ezspark_register_batched_envs(register):
    for env_id, factory in BATCHED.items():
        spec = gymnasium.registry.get(env_id)
        if spec is not None and spec.entry_point == ENTRY_POINT and spec.kwargs == ENVS[env_id]:
            register(env_id, factory)
