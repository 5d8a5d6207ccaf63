"""What the learning benchmark's peer runs share (``bench_learning.py``): the seeds of
training episodes, one environment per (process, id), episode loops around an ``act``
function, the XOR cases, and the record a training run hands back (``Trace``).

Training episode seeds: game g of genome i (its position in the generation's population)
of generation k, for run seed s, starts with ``reset(seed=train_seed(s, k, i, g))``: the
first 4 bytes (little-endian) of SHA-256("bench-learning-train:{s}:{k}:{i}:{g}") modulo
UNSEEN_SEED, so a training episode is never one of the unseen episodes
(``UNSEEN_SEED + e``, e = 0 ... 109) the benchmark scores champions on.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import gymnasium as gym

# Reset seeds of the unseen episodes: UNSEEN_SEED + e.  Training draws below it.
UNSEEN_SEED = 2_000_000_000

XOR_X = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
XOR_Y = (0.0, 1.0, 1.0, 0.0)


def train_seed(run_seed: int, generation: int, index: int, game: int) -> int:
    digest = hashlib.sha256(
        f"bench-learning-train:{run_seed}:{generation}:{index}:{game}".encode("ascii")).digest()
    return int.from_bytes(digest[:4], "little") % UNSEEN_SEED


_ENVS: dict = {}


def get_env(env_id: str):
    """``gym.make(env_id)`` (gymnasium's default wrappers, its own time limit), made once
    per process and reused."""
    env = _ENVS.get(env_id)
    if env is None:
        env = _ENVS[env_id] = gym.make(env_id)
    return env


def argmax(values) -> int:
    """The lowest index of the largest value (as ezspark's ``act``)."""
    best, j = values[0], 0
    for i in range(1, len(values)):
        if values[i] > best:
            best, j = values[i], i
    return j


def episode(act, env, seed: int) -> tuple[float, int]:
    """Return and env steps of one episode from ``reset(seed=seed)`` until terminated or
    truncated (the env's own time limit); ``act(observation) -> action``."""
    obs, _ = env.reset(seed=seed)
    step = env.step
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = step(act(obs))
        total += float(reward)
        steps += 1
        if terminated or truncated:
            return total, steps


def returns(act, env_id: str, seeds) -> list[float]:
    env = get_env(env_id)
    return [episode(act, env, s)[0] for s in seeds]


def xor_score(outputs) -> dict:
    """Squared error, right answers (an output on the right side of 0.5) and solved (all
    four right) of the four XOR outputs."""
    outputs = [float(o) for o in outputs]
    sse = sum((o - y) ** 2 for o, y in zip(outputs, XOR_Y))
    correct = sum(1 for o, y in zip(outputs, XOR_Y) if (o > 0.5) == (y > 0.5) and o != 0.5)
    return {"sse": sse, "score": 4.0 - sse, "correct": correct, "solved": correct == 4,
            "outputs": outputs}


@dataclass
class Champ:
    """One champion of a run: ``policy`` has ``act(observation) -> action`` (gym tasks) or
    ``outputs(rows) -> list`` (XOR); ``key`` is equal for identical networks."""

    generation: int
    fitness: float
    key: str
    policy: object


@dataclass
class Trace:
    """What a peer's training run hands back: per generation (in order) the best training
    fitness, population size, species and the budget units spent so far; every
    generation's champion; the default champion (what the package hands out)."""

    steps: int = 0
    rows: list = field(default_factory=list)        # dicts: generation, best, population, species, cum_steps
    champions: list = field(default_factory=list)   # Champ, one per generation
    default: Champ | None = None
    notes: dict = field(default_factory=dict)


def key_of(parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()
