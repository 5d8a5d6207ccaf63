"""MultiNEAT 0.12 on the learning benchmark's tasks (``bench_learning.py``).

Settings: ``multi_neat.xor_params(150)``, the parameter block of the package's own
plain-NEAT XOR test (one mutation per offspring, no crossover, dynamic compatibility
threshold for 2-10 species, unsigned sigmoid with slope 4.9, feed-forward), population 150;
a start genome fully connected from the inputs and a bias input fixed at 1.0 to the
outputs.  A network is run for D = depth synchronous ``Activate()`` steps per input
(``multi_neat.ff_depth``), which gives the exact feed-forward output.

* gym tasks: fitness = mean return over ``games`` episodes per genome per generation,
  episode seeds ``train_seed(run seed, generation, genome position, game)``, action = the
  lowest index of the largest output; every ``env.step`` of these episodes counts against
  the budget.  MultiNEAT needs fitness >= 0 (its fitness sharing asserts it and treats
  values <= 0 as 0.0001), so what it is given is ``max(mean return + OFFSET[env], 0)``
  with a fixed offset per environment: 0 for CartPole-v1 (returns >= 0), 500 for
  Acrobot-v1 (returns >= -500 at 500 steps), 500 for LunarLander-v3 (returns below -500
  all count as 0).  Everything reported (history, champions) is the mean return itself.
* XOR: fitness = 4 - squared error over the four cases, each genome evaluation counts 1.

MultiNEAT's Python API has no best-ever genome: the default champion is tracked here, the
generation's best genome whose training fitness beats every earlier generation's best
(strictly, as neat-python's ``best_genome``).
"""
from __future__ import annotations

import multineat as NEAT

from . import multi_neat as mn
from .learning_common import (XOR_X, XOR_Y, Champ, Trace, argmax, episode, get_env, key_of,
                              train_seed)

OFFSET = {"CartPole-v1": 0.0, "Acrobot-v1": 500.0, "LunarLander-v3": 500.0}
MAX_GENERATIONS = 100_000     # a guard only: the budget ends every run long before


class Policy:
    """A genome's phenotype: Input(x + [1.0]), D x Activate(), Output()."""

    def __init__(self, genome):
        self.net, self.depth = mn.mn_build(genome)

    def key(self) -> str:
        """Equal for identical networks (neurons and links)."""
        net = self.net
        return key_of((
            tuple((int(n.type), n.a, n.b, int(n.activation_function_type)) for n in net.neurons),
            tuple((c.source_neuron_idx, c.target_neuron_idx, c.weight) for c in net.connections)))

    def _out(self, inputs):
        net = self.net
        net.Input(inputs)
        for _ in range(self.depth):
            net.Activate()
        return net.Output()

    def act(self, obs):
        return argmax(self._out(obs.tolist() + [1.0]))

    def outputs(self, rows):
        return [self._out(list(x) + [1.0])[0] for x in rows]


def run(env_id: str | None, n_inputs: int, n_outputs: int, *, seed: int, budget: int,
        games: int = 1, pop: int = 150) -> Trace:
    """One training run until ``budget`` (env steps; XOR, ``env_id`` None: evaluations) is
    spent at the end of a generation."""
    params = mn.xor_params(pop)
    population = NEAT.Population(mn.new_genome(n_inputs + 1, n_outputs, params), params,
                                 True, 1.0, seed)
    population.RNG.Seed(seed)
    env = get_env(env_id) if env_id else None
    offset = OFFSET.get(env_id, 0.0) if env_id else 0.0
    trace = Trace(notes={"fitness_offset": offset})
    spent = 0
    for k in range(MAX_GENERATIONS):
        genomes = mn.genome_list(population)
        fits = []
        for i, g in enumerate(genomes):
            policy = Policy(g)
            if env is None:
                f = 4.0 - sum((o - y) ** 2 for o, y in zip(policy.outputs(XOR_X), XOR_Y))
                spent += 1
                g.SetFitness(f)
            else:
                total = 0.0
                for game in range(games):
                    r, n = episode(policy.act, env, train_seed(seed, k, i, game))
                    total += r
                    spent += n
                f = total / games
                g.SetFitness(max(f + offset, 0.0))
            g.SetEvaluated()
            fits.append((f, policy))
        j = max(range(len(fits)), key=lambda t: fits[t][0])    # the first of the best
        f, policy = fits[j]
        champ = Champ(k, f, policy.key(), policy)
        trace.champions.append(champ)
        trace.rows.append({"generation": k, "best": f, "population": len(genomes),
                           "species": len(population.Species), "cum_steps": spent})
        if trace.default is None or f > trace.default.fitness:
            trace.default = champ
        if spent >= budget:
            break
        population.Epoch()
    trace.steps = spent
    return trace
