"""neat-python 2.0.0 on the pole-balancing benchmark (``bench_poles.py``).

Config: ``cartpole-feedforward.cfg`` (the values of neat-python's own
``examples/xor/config-feedforward``: compatibility threshold 3.0, elitism 2, sigmoid/sum,
``full_direct`` start) with the task's input count, one output, ``pop_size`` ``pop``, no
fitness termination, and ``feed_forward`` False for the task without velocities (the genome
may then grow cycles and the phenotype is ``neat.nn.RecurrentNetwork``).  ``overrides``
replaces further keys of the config (``bench_poles.py``'s ``PEER_KEYS``, chosen on the tuning seeds,
and the tuning rounds of ``--tune``).

* Fitness: the return of one episode of the task's environment (``gym.make(env_id)``, the
  same ids ezspark trains on: steps balanced, or the damping fitness), from its fixed start.
* Action: the single sigmoid output o in [0, 1] mapped linearly onto the action space
  [-1, 1] (2 o - 1), as ezspark maps sigma(s) onto [low, high] and NEAT's own code maps
  (o - 0.5) * 20 N.  Observations go in as lists.
* A recurrent network is ``reset()`` before every episode, and by the solved test before
  each of its episodes.

Each generation (``Population.run(fitness, 1)``) the genomes ``rule`` names are put through
``test(policy, reset, training_return)``, the benchmark's solved test (a network tested
before is skipped: the test is deterministic): "champion", the generation's best genome (the
one neat-python hands its reporters' ``post_evaluate``); "all", each genome whose fitness
reaches ``every`` (population order); "species", the one genome NEAT's own rule picks from
neat-python's species (``species_turns.py``).  The run ends at the end of the first
generation in which a tested genome passes, or of the first generation by whose end ``cap``
evaluations were spent (then unsolved).
"""
from __future__ import annotations

import copy
import time

import gymnasium as gym
import neat
from neat.nn import FeedForwardNetwork, RecurrentNetwork

from .learning_neat_python import genome_key, load_config
from .species_turns import SpeciesTurns


class Policy:
    """A genome's network as the solved test calls it: ``act(observation)`` -> an action in
    [-1, 1]; ``reset()`` clears a recurrent network's state."""

    def __init__(self, genome, config, recurrent: bool):
        self.net = (RecurrentNetwork if recurrent else FeedForwardNetwork).create(genome, config)
        self.recurrent = recurrent

    def act(self, observation):
        return 2.0 * self.net.activate(observation.tolist())[0] - 1.0

    def reset(self):
        if self.recurrent:
            self.net.reset()


def episode(policy: Policy, env) -> float:
    """The return of one episode from the env's fixed start (its own 1,000-step limit)."""
    policy.reset()
    obs, _ = env.reset(seed=0)
    total = 0.0
    while True:
        obs, reward, terminated, truncated, _ = env.step([policy.act(obs)])
        total += float(reward)
        if terminated or truncated:
            return total


class _Recorder(neat.reporting.BaseReporter):
    """The generation's best genome, population and species counts, and copies of the
    genomes ``rule`` tests (``run``)."""

    def __init__(self, rule: str, every: float):
        self.last = None
        self.rule, self.every = rule, every
        self.turns = SpeciesTurns()

    def post_evaluate(self, config, population, species, best_genome):
        if self.rule == "champion":
            candidates = [best_genome]
        elif self.rule == "all":
            candidates = [g for g in population.values() if g.fitness >= self.every]
        else:
            genomes = list(population.values())
            i = self.turns.pick([g.fitness for g in genomes],
                                [species.get_species_id(g.key) for g in genomes])
            candidates = [genomes[i]]
        self.last = {"best": float(best_genome.fitness), "population": len(population),
                     "species": len(species.species),
                     "candidates": [copy.deepcopy(g) for g in candidates]}


def run(env_id: str, n_inputs: int, recurrent: bool, *, seed: int, cap: int, test,
        pop: int = 150, overrides: dict | None = None, rule: str = "champion",
        every: float = 1000.0, max_generations: int = 1_000_000) -> dict:
    """One run: evolve until a tested genome passes ``test`` or ``cap`` evaluations are
    spent.  Tested each generation: the genomes ``rule`` names (module docstring; with
    "all" the first that passes solves).  A genome tested before (the same network) is not
    tested again: the test is deterministic.
    ``test(policy_fn, reset_fn, training_return) -> (passed, detail)``."""
    t0 = time.perf_counter()
    # feed_forward False lets the genome grow cycles (a RecurrentNetwork phenotype)
    config = load_config(n_inputs, 1, pop,
                         {"feed_forward": str(not recurrent), **(overrides or {})})
    p = neat.Population(config, seed=seed)
    rec = _Recorder(rule, every)
    p.add_reporter(rec)
    env = gym.make(env_id)
    spent = [0]

    def fitness(genomes, cfg):
        for _, g in genomes:
            g.fitness = episode(Policy(g, cfg, recurrent), env)
            spent[0] += 1

    rows, tests, test_seconds, tested = [], [], 0.0, 0
    known: set[str] = set()             # networks that failed the test
    solved, champion = False, None
    for _ in range(max_generations):
        k = p.generation
        p.run(fitness, 1)
        row = rec.last
        candidates = row.pop("candidates")
        rows.append({"generation": k, **row, "cum_evaluations": spent[0]})
        t1 = time.perf_counter()
        for genome in candidates:
            key = genome_key(genome)
            if key in known:
                continue
            policy = Policy(genome, config, recurrent)
            passed, detail = test(policy.act, policy.reset, float(genome.fitness))
            tested += 1
            if detail is not None:
                tests.append({"generation": k, **detail})
            if passed:
                solved = True
                champion = {"generation": k, "fitness": float(genome.fitness),
                            "nodes": len(genome.nodes),
                            "connections": sum(1 for c in genome.connections.values()
                                               if c.enabled)}
                break
            known.add(key)
        test_seconds += time.perf_counter() - t1
        if solved or spent[0] >= cap:
            break
    env.close()
    return {"solved": solved, "evaluations": spent[0], "generations": len(rows),
            "seconds": time.perf_counter() - t0, "test_seconds": test_seconds,
            "tests_run": tested, "tests": tests, "champion": champion, "history": rows}
