"""neat-python 2.0.0 on the benchmarks' tasks.

Config: ``cartpole-feedforward.cfg`` beside this file (neat-python's XOR example values,
4 inputs -> 2 outputs, sigmoid/sum, full_direct start), population size overridden per task.

* activation: ``grow_genome`` grows the workload's networks with neat-python's own mutation
  operators (deterministic per seed); ``make_workload`` exports them with neat-python's outputs.
* CartPole-v1: ``run_once`` runs the task (serial or ``ParallelEvaluator(2)``) until solved.
* bookkeeping: ``one_pass`` runs a cheap-fitness evolution with ``reproduce`` and
  ``speciate`` timed and distance computations counted.
"""
import functools
import itertools
import os
import random
import statistics
import time

import gymnasium as gym
import neat
import numpy as np
from neat.innovation import InnovationTracker
from neat.nn import FeedForwardNetwork

CONFIG_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cartpole-feedforward.cfg")


def load_config(pop=None):
    config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction,
                         neat.DefaultSpeciesSet, neat.DefaultStagnation, CONFIG_PATH)
    if pop is not None:
        config.pop_size = pop
    return config


# ---- activation workload ---------------------------------------------------------------------

SIZES = {"small": (10, 40), "big": (50, 300)}   # (hidden nodes, enabled connections)


def grow_genome(config, seed, n_hidden, n_conn, key=1):
    """Grow a genome with neat-python's mutation operators: add nodes up to ``n_hidden``, then
    connections up to ``n_conn`` enabled ones, then one weight/bias mutation.  Deterministic:
    the innovation tracker and node ids restart and ``random`` is seeded with ``seed``."""
    gc = config.genome_config
    gc.innovation_tracker = InnovationTracker()
    gc.node_indexer = None
    random.seed(seed)
    g = neat.DefaultGenome(key)
    g.configure_new(gc)

    def hidden():
        return len([k for k in g.nodes if k not in gc.output_keys])

    def enabled():
        return sum(1 for c in g.connections.values() if c.enabled)

    while hidden() < n_hidden:
        g.mutate_add_node(gc)
    guard = 0
    while enabled() < n_conn:
        g.mutate_add_connection(gc)
        guard += 1
        if guard > 200 * n_conn:   # the feed-forward graph is saturated
            raise RuntimeError("could not reach the requested connection count")
    # weights and biases once more, keeping the enabled flags (and so the connection count)
    for cg in g.connections.values():
        en = cg.enabled
        cg.mutate(gc)
        cg.enabled = en
    for ng in g.nodes.values():
        ng.mutate(gc)
    return g, hidden(), enabled()


def workload_inputs():
    """The 1000 inputs every activation figure uses (uniform in [-1, 1], float32 as gym's
    observations), as float32 arrays and as lists."""
    rng = np.random.default_rng(12345)
    arr32 = [rng.uniform(-1, 1, size=4).astype(np.float32) for _ in range(1000)]
    return arr32, [[float(v) for v in a] for a in arr32]


def make_workload(genomes=5):
    """The activation workload: per size, the genes of ``genomes`` grown networks (seeds
    0 ... genomes-1) and neat-python's outputs on the first 32 inputs, so that another package
    can build the same networks and check its outputs."""
    config = load_config()
    _, inputs = workload_inputs()
    inputs = inputs[:32]
    out = {"note": "genomes grown by neat_python.grow_genome; outputs from neat-python "
                   "FeedForwardNetwork.activate on list inputs",
           "input_keys": config.genome_config.input_keys,
           "output_keys": config.genome_config.output_keys,
           "activation": "neat-python sigmoid: 1/(1+exp(-clamp(5*z,-60,60)))",
           "aggregation": "sum", "inputs": inputs, "genomes": {}}
    for size, (h, c) in SIZES.items():
        out["genomes"][size] = []
        for seed in range(genomes):
            g, _, _ = grow_genome(config, seed, h, c)
            net = FeedForwardNetwork.create(g, config)
            out["genomes"][size].append({
                "seed": seed,
                "nodes": {str(k): {"bias": n.bias, "response": n.response,
                                   "activation": n.activation, "aggregation": n.aggregation}
                          for k, n in sorted(g.nodes.items())},
                "connections": [[k[0], k[1], c.weight, c.enabled] for k, c in sorted(g.connections.items())],
                "outputs": [net.activate(x) for x in inputs]})
    return out


# ---- CartPole-v1 task ------------------------------------------------------------------------
# gym.make("CartPole-v1"), one env per process, reused; 4 observations -> 2 outputs, action =
# argmax (ties -> 0); fitness = mean reward over 5 episodes of <= 500 steps, episode seeds from
# (run seed, genome key), so fitness is a pure function of both and the serial and parallel
# runs of a seed do identical work.  Solved when a generation's best genome (fitness >= 475)
# averages >= 475 over 100 fresh episodes; the validation is timed and counted separately.

EPISODES = 5
SOLVE_THRESHOLD = 475.0
VALIDATION_EPISODES = 100

_ENV = None


def get_env():
    global _ENV
    if _ENV is None:
        _ENV = gym.make("CartPole-v1")
    return _ENV


def episode_seeds(run_seed, genome_key, n=EPISODES):
    r = random.Random(run_seed * 1_000_003 + genome_key)
    return [r.randrange(2 ** 31) for _ in range(n)]


def validation_seeds(run_seed, genome_key):
    r = random.Random(10 ** 9 + run_seed * 7919 + genome_key)
    return [r.randrange(2 ** 31) for _ in range(VALIDATION_EPISODES)]


def run_episodes(net, seeds):
    """Total reward over the episodes.  Observations go in as lists: neat-python's activate
    is ~1.5x slower on numpy arrays."""
    env = get_env()
    act = net.activate
    step = env.step
    total = 0.0
    for s in seeds:
        obs, _ = env.reset(seed=s)
        while True:
            out = act(obs.tolist())
            obs, r, term, trunc, _ = step(0 if out[0] >= out[1] else 1)
            total += r
            if term or trunc:
                break
    return total


def eval_genome(genome, config, run_seed=0):
    net = FeedForwardNetwork.create(genome, config)
    return run_episodes(net, episode_seeds(run_seed, genome.key)) / EPISODES


class Solved(Exception):
    pass


class RunTracker(neat.reporting.BaseReporter):
    """Times evaluation and bookkeeping per generation, counts env steps (CartPole pays 1 per
    step, so a genome's training steps are 5 x fitness) and runs the solve test."""

    def __init__(self, run_seed):
        self.run_seed = run_seed
        self.rows = []
        self.validated = {}
        self.train_steps = 0
        self.val_steps = 0
        self.val_time = 0.0
        self.solved_by = None
        self._t = self._t_post = None

    def start_generation(self, generation):
        self._t = time.perf_counter()
        self.rows.append({"gen": generation})

    def post_evaluate(self, config, population, species, best_genome):
        row = self.rows[-1]
        row["eval_s"] = time.perf_counter() - self._t
        steps = int(round(sum(g.fitness for g in population.values()) * EPISODES))
        row.update(steps=steps, best=best_genome.fitness, species=len(species.species))
        self.train_steps += steps
        if best_genome.fitness >= SOLVE_THRESHOLD:
            key = best_genome.key
            if key not in self.validated:
                t0 = time.perf_counter()
                net = FeedForwardNetwork.create(best_genome, config)
                total = run_episodes(net, validation_seeds(self.run_seed, key))
                self.val_steps += int(total)
                self.validated[key] = total / VALIDATION_EPISODES
                self.val_time += time.perf_counter() - t0
                row["validated"] = {"genome": key, "mean": self.validated[key]}
            if self.validated[key] >= SOLVE_THRESHOLD:
                self.solved_by = (key, self.validated[key])
                raise Solved()
        self._t_post = time.perf_counter()

    def end_generation(self, config, population, species_set):
        self.rows[-1]["bookkeeping_s"] = time.perf_counter() - self._t_post


def _evaluator(mode, seed):
    """The evaluation function of ``mode`` and the pool to close afterwards (or None)."""
    if mode == "serial":
        def evaluate(genomes, cfg):
            for _, g in genomes:
                g.fitness = eval_genome(g, cfg, seed)
        return evaluate, None
    pe = neat.ParallelEvaluator(2, functools.partial(eval_genome, run_seed=seed))

    def evaluate(genomes, cfg):
        # neat-python 2.0.x pickles the config once per job, and pickling calls next() on
        # genome_config.node_indexer: every parallel generation would skip ~pop node ids and
        # the run diverge from the serial one.  Put the counter back so both do identical work.
        gc = cfg.genome_config
        saved = next(gc.node_indexer) if gc.node_indexer is not None else None
        pe.evaluate(genomes, cfg)
        if saved is not None:
            gc.node_indexer = itertools.count(saved)
    return evaluate, pe


def run_once(seed, mode, pop=150, max_gens=100):
    """One run of the CartPole-v1 task in ``mode`` "serial" or "parallel"
    (``neat.ParallelEvaluator(2)``, its pool start included in the wall time)."""
    config = load_config(pop)
    tracker = RunTracker(seed)
    t0 = time.perf_counter()
    evaluate, pe = _evaluator(mode, seed)
    pool_s = time.perf_counter() - t0
    t_init = time.perf_counter()
    p = neat.Population(config, seed=seed)
    init_s = time.perf_counter() - t_init
    p.add_reporter(tracker)
    solved = False
    try:
        p.run(evaluate, max_gens)
    except Solved:
        solved = True
    finally:
        if pe is not None:
            pe.close()
    wall = time.perf_counter() - t0
    rows = tracker.rows
    eval_s = sum(r.get("eval_s", 0.0) for r in rows)
    last = p.best_genome
    return {
        "seed": seed, "mode": mode, "solved": solved, "generations": len(rows),
        "train_steps": tracker.train_steps, "validation_steps": tracker.val_steps,
        "validations": len(tracker.validated), "wall_s": round(wall, 3), "eval_s": round(eval_s, 3),
        "bookkeeping_s": round(sum(r.get("bookkeeping_s", 0.0) for r in rows), 3),
        "validation_s": round(tracker.val_time, 3), "population_init_s": round(init_s, 4),
        "pool_start_s": round(pool_s, 4) if pe is not None else 0.0,
        "train_steps_per_s_eval": round(tracker.train_steps / eval_s, 1) if eval_s else None,
        "solved_by": tracker.solved_by,
        "best_nodes": len(last.nodes) if last else None,
        "best_enabled_conns": sum(1 for c in last.connections.values() if c.enabled) if last else None,
        "per_gen": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    }


# ---- bookkeeping: reproduction and speciation --------------------------------------------------

# Genome distance computations are the unit of speciation work: counting them lets packages
# whose runs form different numbers of species be compared per distance.  The counting
# wrapper costs ~0.1 us per call.
DISTANCE_CALLS = [0]
_original_distance = neat.DefaultGenome.distance


def _counting_distance(self, other, config):
    DISTANCE_CALLS[0] += 1
    return _original_distance(self, other, config)


class GenTimer(neat.reporting.BaseReporter):
    """Per generation: evaluation, reproduce and speciate seconds (filled in by the wrappers
    of ``one_pass``), species, distance computations and genome sizes."""

    def __init__(self):
        self.gen_start = None
        self.rows = []
        self.cur = None

    def start_generation(self, generation):
        self.gen_start = time.perf_counter()
        self.cur = {"gen": generation, "eval": 0.0, "reproduce": 0.0, "speciate": 0.0}
        DISTANCE_CALLS[0] = 0

    def end_generation(self, config, population, species_set):
        c = self.cur
        c["total"] = time.perf_counter() - self.gen_start
        c["non_eval"] = c["total"] - c["eval"]
        c["other"] = c["non_eval"] - c["reproduce"] - c["speciate"]
        c["species"] = len(species_set.species)
        c["distance_calls"] = DISTANCE_CALLS[0]
        sizes = [sum(1 for cg in g.connections.values() if cg.enabled) for g in population.values()]
        c["mean_enabled_conns"] = statistics.fmean(sizes)
        c["mean_nodes"] = statistics.fmean(len(g.nodes) for g in population.values())
        self.rows.append(c)


def _timed(fn, timer, key):
    def wrapper(*a, **k):
        t = time.perf_counter()
        r = fn(*a, **k)
        timer.cur[key] += time.perf_counter() - t
        return r
    return wrapper


def one_pass(pop_size, gens, seed):
    """``gens`` generations at ``pop_size`` with a nearly free fitness that rewards growth:
    enabled connections + N(0, 0.5) from a separate RNG (neat-python's own random stream is
    untouched, so genomes grow as in a real run).  Returns (population init seconds, one row
    per generation)."""
    neat.DefaultGenome.distance = _counting_distance
    config = load_config(pop_size)
    config.fitness_threshold = float("inf")
    t0 = time.perf_counter()
    p = neat.Population(config, seed=seed)
    init_s = time.perf_counter() - t0
    timer = GenTimer()
    p.add_reporter(timer)
    p.reproduction.reproduce = _timed(p.reproduction.reproduce, timer, "reproduce")
    p.species.speciate = _timed(p.species.speciate, timer, "speciate")
    noise = random.Random(seed + 1_000_003)

    def fitness(genomes, cfg):
        t = time.perf_counter()
        for _, g in genomes:
            g.fitness = sum(1 for cg in g.connections.values() if cg.enabled) + noise.gauss(0.0, 0.5)
        timer.cur["eval"] += time.perf_counter() - t

    p.run(fitness, gens)
    return init_s, timer.rows
