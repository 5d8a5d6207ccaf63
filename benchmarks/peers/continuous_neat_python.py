"""neat-python 2.0.0 on the continuous-control tasks of ``bench_continuous.py``.

Config: ``learning_neat_python.load_config`` (``cartpole-feedforward.cfg``: the values of
neat-python's own ``examples/xor/config-feedforward``, pop 150, compatibility threshold
3.0, elitism 2, sigmoid/sum, ``full_direct`` start, feed-forward, no fitness termination)
with the task's input and output counts.  Nothing else differs from the learning benchmark's
peer (``learning_neat_python.py``) but the action:

* action component j = low_j + o_j * (high_j - low_j) for the ``Box(low, high, (n,))``
  action space, where o_j in [0, 1] is output j of the network (neat-python's ``sigmoid``,
  1 / (1 + exp(-5 z)) with z the output node's bias + weighted sum), clipped to
  [low_j, high_j] and cast to the space's dtype: the same linear map as ezspark's
  (docs/algorithm.md 3.4), on neat-python's own output activation (ezspark's outputs have
  no bias; neat-python's output nodes keep their evolved bias);
* fitness = mean return over ``games`` episodes per genome per generation, episode seeds
  ``train_seed(run seed, generation, genome position, game)``, observations in as lists;
  every ``env.step`` of these episodes counts against the budget; episodes end at the
  env's own time limit.

The run is ``Population.run(fitness, 1)`` once per generation until the budget is spent at
the end of a generation; the default champion is what the last call returns
(``Population.best_genome``: its best-ever genome by training fitness).
"""
from __future__ import annotations

import numpy as np
from neat.nn import FeedForwardNetwork

import neat

from .learning_common import Champ, Trace, episode, get_env, train_seed
from .learning_neat_python import MAX_GENERATIONS, _Recorder, genome_key, load_config


class BoxMap:
    """Outputs in [0, 1] -> an action of a ``Box(low, high, (n,))`` space."""

    def __init__(self, space):
        self.low = np.asarray(space.low, dtype=np.float64)
        self.high = np.asarray(space.high, dtype=np.float64)
        self.dtype = space.dtype

    def __call__(self, outputs) -> np.ndarray:
        out = np.asarray(outputs, dtype=np.float64)
        return np.clip(self.low + out * (self.high - self.low), self.low,
                       self.high).astype(self.dtype)


class Policy:
    """A genome's FeedForwardNetwork acting on a Box action space."""

    def __init__(self, genome, config, box: BoxMap):
        self.net = FeedForwardNetwork.create(genome, config)
        self.box = box

    def act(self, obs):
        return self.box(self.net.activate(obs.tolist()))


def run(env_id: str, n_inputs: int, n_outputs: int, *, seed: int, budget: int,
        games: int = 1, pop: int = 150) -> Trace:
    """One training run until ``budget`` env steps are spent at the end of a generation."""
    config = load_config(n_inputs, n_outputs, pop)
    env = get_env(env_id)
    box = BoxMap(env.action_space)
    if box.low.shape != (n_outputs,):
        raise ValueError(f"{env_id} has actions {env.action_space}, not {n_outputs} outputs")
    p = neat.Population(config, seed=seed)
    rec = _Recorder()
    p.add_reporter(rec)
    trace = Trace()
    spent = [0]

    def fitness(genomes, cfg):
        k = p.generation
        for i, (_, g) in enumerate(genomes):
            act = FeedForwardNetwork.create(g, cfg).activate

            def policy(obs, _act=act):
                return box(_act(obs.tolist()))

            total = 0.0
            for game in range(games):
                r, n = episode(policy, env, train_seed(seed, k, i, game))
                total += r
                spent[0] += n
            g.fitness = total / games

    best = None
    for _ in range(MAX_GENERATIONS):
        k = p.generation
        best = p.run(fitness, 1)
        row = rec.last
        genome = row.pop("genome")
        trace.rows.append({"generation": k, **row, "cum_steps": spent[0]})
        trace.champions.append(Champ(k, row["best"], genome_key(genome),
                                     Policy(genome, config, box)))
        if spent[0] >= budget:
            break
    trace.steps = spent[0]
    key = genome_key(best)
    gen = next((c.generation for c in trace.champions if c.key == key), -1)
    trace.default = Champ(gen, float(best.fitness), key, Policy(best, config, box))
    return trace
