"""neat-python 2.0.0 on the learning benchmark's tasks (``bench_learning.py``).

Config: ``cartpole-feedforward.cfg`` (the values of neat-python's own
``examples/xor/config-feedforward``: pop 150, compatibility threshold 3.0, elitism 2,
sigmoid/sum, ``full_direct`` start, feed-forward) with the task's input and output counts
written into a copy, and no fitness termination: the budget ends the run.

* gym tasks: fitness = mean return over ``games`` episodes per genome per generation,
  episode seeds ``train_seed(run seed, generation, genome position, game)``, action = the
  lowest index of the largest output, observations in as lists; every ``env.step`` of these
  episodes counts against the budget.
* XOR: fitness = 4 - squared error over the four cases (neat-python's example), each genome
  evaluation counts 1.

The run is ``Population.run(fitness, 1)`` called once per generation until the budget is
spent at the end of a generation; the default champion is what the last call returns
(``Population.best_genome``: its best-ever genome by training fitness).
"""
from __future__ import annotations

import copy
import os
import re
import tempfile

import neat
from neat.nn import FeedForwardNetwork

from .learning_common import (XOR_X, XOR_Y, Champ, Trace, argmax, episode, get_env, key_of,
                              train_seed)

BASE_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cartpole-feedforward.cfg")
MAX_GENERATIONS = 100_000     # a guard only: the budget ends every run long before


def load_config(n_inputs: int, n_outputs: int, pop: int = 150,
                overrides: dict | None = None) -> neat.Config:
    """neat-python's config: ``cartpole-feedforward.cfg`` with ``n_inputs``/``n_outputs``,
    ``pop_size`` = ``pop``, ``no_fitness_termination`` = True and ``overrides`` (key ->
    value; each key must exist in the file), as a copy in a temporary file (the .cfg beside
    this module is not changed)."""
    with open(BASE_CONFIG) as f:
        text = f.read()
    keys = {"num_inputs": n_inputs, "num_outputs": n_outputs, "pop_size": pop,
            "no_fitness_termination": "True", **(overrides or {})}
    for key, value in keys.items():
        text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        assert n == 1, key
    fd, path = tempfile.mkstemp(suffix=".cfg")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return neat.Config(neat.DefaultGenome, neat.DefaultReproduction,
                           neat.DefaultSpeciesSet, neat.DefaultStagnation, path)
    finally:
        os.unlink(path)


def genome_key(genome) -> str:
    """Equal for genomes with the same network (nodes and enabled connections)."""
    nodes = tuple((k, n.bias, n.response, n.activation, n.aggregation)
                  for k, n in sorted(genome.nodes.items()))
    conns = tuple((k, c.weight) for k, c in sorted(genome.connections.items()) if c.enabled)
    return key_of((nodes, conns))


class Policy:
    """A genome's FeedForwardNetwork: ``act`` for gym tasks, ``outputs`` for XOR."""

    def __init__(self, genome, config):
        self.net = FeedForwardNetwork.create(genome, config)

    def act(self, obs):
        return argmax(self.net.activate(obs.tolist()))

    def outputs(self, rows):
        return [self.net.activate(list(x))[0] for x in rows]


class _Recorder(neat.reporting.BaseReporter):
    """Per generation: best training fitness, population size, species of the evaluated
    population, and a copy of the generation's best genome."""

    def __init__(self):
        self.last = None

    def post_evaluate(self, config, population, species, best_genome):
        self.last = {"best": float(best_genome.fitness), "population": len(population),
                     "species": len(species.species), "genome": copy.deepcopy(best_genome)}


def run(env_id: str | None, n_inputs: int, n_outputs: int, *, seed: int, budget: int,
        games: int = 1, pop: int = 150) -> Trace:
    """One training run until ``budget`` (env steps; XOR, ``env_id`` None: evaluations) is
    spent at the end of a generation."""
    config = load_config(n_inputs, n_outputs, pop)
    p = neat.Population(config, seed=seed)
    rec = _Recorder()
    p.add_reporter(rec)
    trace = Trace()
    spent = [0]
    env = get_env(env_id) if env_id else None

    def fitness(genomes, cfg):
        k = p.generation
        for i, (_, g) in enumerate(genomes):
            net = FeedForwardNetwork.create(g, cfg)
            if env is None:
                g.fitness = 4.0 - sum((net.activate(x)[0] - y) ** 2 for x, y in zip(XOR_X, XOR_Y))
                spent[0] += 1
                continue
            act = net.activate

            def policy(obs, _act=act):
                return argmax(_act(obs.tolist()))

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
        trace.champions.append(Champ(k, row["best"], genome_key(genome), Policy(genome, config)))
        if spent[0] >= budget:
            break
    trace.steps = spent[0]
    key = genome_key(best)
    gen = next((c.generation for c in trace.champions if c.key == key), -1)
    trace.default = Champ(gen, float(best.fitness), key, Policy(best, config))
    return trace
