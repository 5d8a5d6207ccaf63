"""Every configuration key changes behaviour the way docs/algorithm.md section 2.2 says
(issue 12).

Each test below is registered, with the keys it covers, by the ``@covers(...)`` decorator in
``KEY_TESTS``.  Two meta-tests use that registry:

* ``test_every_config_key_has_a_test`` enumerates ``attrs.fields(TrainingConfig)`` and fails
  when a key has no registered test (a new key needs one);
* ``test_key_tests_fail_when_their_key_is_ignored`` (slow) runs every registered test again
  with its key forced to the key's default value after validation, as a reader that ignored
  the key would see it, and fails unless the test then fails.

Most tests compare the key at a non-default value with the spec's prediction for that value
(which the default would not give), on the real engine (``Evolution``), the real evaluators
(``EnvEvaluator`` through ``ezspark.train``, ``--workers``, a real in-process Dask cluster) and
small deterministic environments defined here.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import tempfile
import warnings
from pathlib import Path

import attrs
import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import ezspark
from ezspark import hookimpl
from ezspark.config.training import TrainingConfig
from ezspark.engine.evolution import Evolution, Species, next_threshold, species_band
from ezspark.engine.genome import Genome
from ezspark.evaluation.envs import episode_seed
from ezspark.evaluation.play import episode_returns
from ezspark.evaluation.validation import validation_seeds
from ezspark.plugins.manager import make_plugin_manager
from ezspark.training.trainer import RewardBelowMinimum

# -- the registry -----------------------------------------------------------------------------

#: key name -> the tests that fail when that key is ignored (forced to its default)
KEY_TESTS: dict[str, list] = {}


def covers(*keys: str):
    """Register the decorated test as one that fails when any of ``keys`` is ignored."""
    unknown = set(keys) - set(TrainingConfig.keys())
    if unknown:
        raise ValueError(f"covers(): no such config keys {sorted(unknown)}")

    def mark(test):
        for key in keys:
            KEY_TESTS.setdefault(key, []).append(test)
        test.covers_keys = keys
        return test

    return mark


# -- small deterministic environments ---------------------------------------------------------

class RampEnv(gymnasium.Env):
    """An episode that never ends by itself (no time limit is registered): step 1 gives
    reward -1, every later step 1 + seed % 3.  Resets are logged as (instance id, seed)."""

    metadata = {"render_modes": []}
    log: list = []

    def __init__(self):
        self.observation_space = spaces.Box(-10.0, 10.0, (2,), np.float64)
        self.action_space = spaces.Discrete(2)
        self._seed = 0
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._seed, self._t = int(seed), 0
        RampEnv.log.append((id(self), self._seed))
        return np.array([(self._seed % 11) / 11.0, 0.0]), {}

    def step(self, action):
        self._t += 1
        reward = -1.0 if self._t == 1 else 1.0 + self._seed % 3
        return np.array([(self._seed % 11) / 11.0, 0.01 * self._t]), reward, False, False, {}


RAMP = "ezspark_keys/Ramp-v0"
if RAMP not in gymnasium.registry:
    gymnasium.register(RAMP, entry_point=RampEnv)


def ramp_return(seed: int, steps: int) -> float:
    """R of one game of RampEnv cut after ``steps`` steps, summed in step order."""
    total = 0.0
    for t in range(1, steps + 1):
        total += -1.0 if t == 1 else 1.0 + seed % 3
    return total


def ramp_fitness(run_seed: int, k: int, n: int, games: int, steps: int) -> np.ndarray:
    """Spec 6.1 and 6.2: f_i = (sum over g of R(e(k, i, g))) / G, in game order."""
    returns = np.array([[ramp_return(episode_seed(run_seed, k, i, g), steps)
                         for g in range(games)] for i in range(n)])
    return np.cumsum(returns, axis=1)[:, -1] / games


def ramp_config(**keys) -> TrainingConfig:
    base = dict(gym_game_name=RAMP, input_size=2, output_size=2, initial_population=4,
                generations=1, max_number_of_games=3, max_number_of_steps=4, seed=5,
                minimum_reward=-1.0)
    base.update(keys)
    return TrainingConfig(**base)


# -- engine helpers ---------------------------------------------------------------------------

N_IN, N_OUT = 3, 2

#: every mutation and crossover switched off: a child is an exact copy of its parent
QUIET = dict(connection_mutation_rate=0.0, add_connection_big_specie_rate=0.0,
             add_connection_small_specie_rate=0.0, add_node_specie_rate=0.0,
             activate_connection_rate=0.0, remove_connection_rate=0.0, crossover_rate=0.0)


def engine_config(**keys) -> TrainingConfig:
    base = dict(input_size=N_IN, output_size=N_OUT, max_population=300)
    base.update(keys)
    return TrainingConfig(**base)


def ranked_generations(cfg: TrainingConfig, seed: int, n: int):
    """The genome lists of generations 0 ... n-1 of the engine alone, each genome's fitness
    its index (no environment)."""
    evo, pop = Evolution.start(cfg, np.random.default_rng(seed))
    for k in range(n):
        genomes = list(pop)
        yield genomes
        fitness = np.arange(len(genomes), dtype=float)
        j, _, _ = evo.observe(fitness)
        pop, _ = evo.reproduce(genomes, fitness, k, j)


def genome(weight: float, disabled=()) -> Genome:
    """An initial genome (genes 1 … 6, input a -> output) with every weight ``weight``.
    Genomes whose weights differ by 3 are at distance 0.4·3 = 1.2: other species at
    ``species_threshold`` 0.5."""
    g = Genome(np.arange(1, 7), np.repeat(np.arange(1, 4), 2), np.tile(np.arange(4, 6), 3),
               np.full(6, float(weight)), np.ones(6, dtype=bool))
    for i in disabled:
        g.enabled[i] = False
    return g


def generation(cfg, genomes, fitness, k=0, *, species=(), seed=0, rho=None):
    """One engine step (spec 5.1 steps 1 to 15) on the given genomes: (next, outcome, evo).

    ``species`` are (id, representative weight, founded, best, stagnation) tuples for the
    species that exist before the step."""
    evo, _ = Evolution.start(cfg, np.random.default_rng(seed))
    evo.species = [Species(id=i, representative=genome(w), founded=f, best=b, stagnation=c)
                   for i, w, f, b, c in species]
    evo.next_species_id = max((s[0] for s in species), default=0) + 1
    fitness = np.asarray(fitness, dtype=float)
    j, _, _ = evo.observe(fitness)
    if rho is not None:
        evo.rho = rho
    nxt, outcome = evo.reproduce(list(genomes), fitness, k, j)
    return nxt, outcome, evo


def children_of(nxt, outcome, keep_parents=1):
    """The mutated offspring of a next generation (after the elite, the kept parent pool
    and the crossover children; spec step 15)."""
    head = 1 + keep_parents * outcome.parent_pool + outcome.crossover_children
    return [nxt[i] for i in range(head, len(nxt))]


# -- keys of the environment and of evaluation ------------------------------------------------

@covers("gym_game_name")
def test_gym_game_name_is_the_environment_that_is_played():
    ramp = ezspark.train(ramp_config(max_number_of_games=1, max_number_of_steps=3))
    assert ramp.champion.env_id == RAMP
    assert ramp.history[0].best_fitness == max(ramp_fitness(5, 0, 4, 1, 3))
    cart = ezspark.train(ramp_config(gym_game_name="CartPole-v1", input_size=4,
                                     max_number_of_games=1, max_number_of_steps=3))
    assert cart.champion.env_id == "CartPole-v1"
    assert cart.history[0].best_fitness == 3.0 and cart.history[0].reward_violations == 0


@covers("input_size", "output_size")
def test_input_and_output_size_make_the_initial_genes():
    """Spec 4 and 3.1: I·O genes, input a -> output I+j, innovation (a-1)·O + j."""
    cfg = engine_config(input_size=4, output_size=3, initial_population=5)
    _, pop = Evolution.start(cfg, np.random.default_rng(0))
    for g in pop:
        assert g.innovation.tolist() == list(range(1, 13))
        assert g.src.tolist() == [a for a in range(1, 5) for _ in range(3)]
        assert g.dst.tolist() == [5, 6, 7] * 4
    result = ezspark.train(ramp_config(gym_game_name="Acrobot-v1", input_size=6, output_size=3,
                                       max_number_of_steps=2, minimum_reward=-1.0))
    assert result.champion.genome.src.max() == 6 and result.champion.genome.dst.max() == 9


@covers("initial_population")
def test_initial_population_sizes_generation_zero_only():
    cfg = engine_config(initial_population=37)
    _, pop = Evolution.start(cfg, np.random.default_rng(0))
    assert len(pop) == 37
    history = ezspark.train(ramp_config(initial_population=7, generations=2)).history
    assert [h.population for h in history] == [7, 5]       # N_1 = 3 + 1 + 1 (5.3)


@covers("max_number_of_games", "max_number_of_steps")
def test_games_and_steps_reach_the_evaluator():
    """f = mean return over G games of at most max_number_of_steps steps (spec 6.1)."""
    result = ezspark.train(ramp_config(max_number_of_games=3, max_number_of_steps=4),
                           generations=2)
    expected0 = ramp_fitness(5, 0, 4, 3, 4)
    h0 = result.history[0]
    assert h0.best_fitness == expected0.max() and h0.mean_fitness == np.mean(expected0)
    assert h0.env_steps == 4 * 3 * 4                        # genomes x games x steps
    expected1 = ramp_fitness(5, 1, result.history[1].population, 3, 4)
    assert result.history[1].best_fitness == expected1.max()


@covers("minimum_reward")
def test_minimum_reward_counts_violations_and_never_changes_fitness():
    """Spec 6.1 and 10: steps below minimum_reward are counted, f is unchanged."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewardBelowMinimum)
        low = ezspark.train(ramp_config(minimum_reward=-1.0)).history[0]   # -1 is allowed
    assert low.reward_violations == 0
    with pytest.warns(RewardBelowMinimum, match=r"below minimum_reward = -0\.5.*If its rewards "
                                                "can be that low, set minimum_reward"):
        high = ezspark.train(ramp_config(minimum_reward=-0.5)).history[0]
    assert high.reward_violations == 4 * 3                  # the first step of every game
    assert high.best_fitness == low.best_fitness == ramp_fitness(5, 0, 4, 3, 4).max()
    with pytest.warns(RewardBelowMinimum):
        higher = ezspark.train(ramp_config(minimum_reward=3.5)).history[0]
    assert higher.reward_violations == 4 * 3 * 4            # 1 + seed % 3 <= 3 < 3.5
    assert higher.best_fitness == low.best_fitness


@covers("max_number_of_games", "max_number_of_steps", "minimum_reward")
def test_evaluation_keys_reach_the_process_evaluator():
    """``--workers 2`` (ProcessEvaluator) plays the same games as the serial evaluator."""
    cfg = ramp_config(max_number_of_games=2, max_number_of_steps=6, minimum_reward=3.5,
                      initial_population=6)
    with pytest.warns(RewardBelowMinimum):
        h0 = ezspark.train(cfg, workers=2).history[0]
    expected = ramp_fitness(5, 0, 6, 2, 6)
    assert h0.best_fitness == expected.max() and h0.mean_fitness == np.mean(expected)
    assert h0.env_steps == 6 * 2 * 6 and h0.reward_violations == 6 * 2 * 6   # all below 3.5


@covers("sub_games")
def test_sub_games_splits_games_over_copies_without_changing_fitness():
    """Spec 6.3: game g is played by copy g mod sub_games; f is bit-identical."""
    RampEnv.log.clear()
    split = ezspark.train(ramp_config(max_number_of_games=5, sub_games=2,
                                      initial_population=3))
    log = list(RampEnv.log)
    for i in range(3):
        seeds = [episode_seed(5, 0, i, g) for g in range(5)]
        instance = {s: inst for inst, s in log if s in seeds}
        copies = [instance[seeds[g]] for g in range(5)]
        assert copies[0] == copies[2] == copies[4] and copies[1] == copies[3]
        assert copies[0] != copies[1]
    plain = ezspark.train(ramp_config(max_number_of_games=5, sub_games=1,
                                      initial_population=3))
    assert split.history[0].mean_fitness == plain.history[0].mean_fitness


# -- keys of the run --------------------------------------------------------------------------

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_fitness(nets):
    return 4.0 - ((nets.activate(X)[:, :, 0] - Y) ** 2).sum(axis=1)


def xor_config(**keys) -> TrainingConfig:
    base = dict(input_size=2, output_size=1, generations=5, seed=3)
    base.update(keys)
    return TrainingConfig(**base)


class ChampionLog:
    """A plugin that records the generations whose champion is stored (spec step 3)."""

    def __init__(self):
        self.generations = []
        self.champions = []

    @hookimpl
    def ezspark_new_champion(self, run, champion):
        self.generations.append(champion.generation)
        self.champions.append(champion)


@covers("generations")
def test_generations_is_the_number_of_generations_evaluated():
    safety = lambda champion: champion.generation >= 9          # noqa: E731
    result = ezspark.train(xor_config(generations=4), fitness=xor_fitness, stop=safety)
    assert [h.generation for h in result.history] == [0, 1, 2, 3]
    assert result.stopped == "generations" and result.champion.generation == 3


@covers("saving")
def test_saving_stores_every_nth_champion_and_the_last():
    for generations, stored in ((7, [0, 3, 6]), (8, [0, 3, 6, 7])):
        pm = make_plugin_manager(autoload=False)
        log = ChampionLog()
        pm.register(log)
        ezspark.train(xor_config(saving=3, generations=generations), fitness=xor_fitness,
                      plugins=pm)
        assert log.generations == stored


@covers("fitness_threshold")
def test_fitness_threshold_ends_the_run_at_the_first_generation_reaching_it():
    calls = []

    def rising(nets):                       # generation k scores k + 1 for every genome
        calls.append(1)
        return np.full(len(nets), float(len(calls)))

    result = ezspark.train(xor_config(generations=10, fitness_threshold=2.5), fitness=rising)
    assert [h.best_fitness for h in result.history] == [1.0, 2.0, 3.0]
    assert result.stopped == "fitness_threshold"
    calls.clear()
    exact = ezspark.train(xor_config(generations=10, fitness_threshold=2.0), fitness=rising)
    assert len(exact.history) == 2                               # n_k >= threshold


@covers("seed")
def test_seed_feeds_the_streams_and_the_episode_seeds():
    a = ezspark.train(ramp_config(seed=11, generations=2))
    assert a.seed == 11
    expected = ramp_fitness(11, 0, 4, 3, 4)
    assert a.history[0].mean_fitness == np.mean(expected)
    b = ezspark.train(ramp_config(seed=None, generations=2), seed=11)
    assert b.champion.genome == a.champion.genome
    c = ezspark.train(xor_config(seed=12), fitness=xor_fitness)
    d = ezspark.train(xor_config(seed=12), fitness=xor_fitness)
    e = ezspark.train(xor_config(seed=13), fitness=xor_fitness)
    assert c.seed == 12 and c.champion.genome == d.champion.genome
    assert [h.best_fitness for h in c.history] != [h.best_fitness for h in e.history]


# -- keys of the engine: population sizes -----------------------------------------------------

@covers("children")
def test_children_multiplies_the_quota():
    """One species: Q = children·ceil(2.5·1), N = Q + keep_parents + 1 (spec 12.6)."""
    nxt, out, _ = generation(engine_config(children=3), [genome(0.1 * i) for i in range(6)],
                             np.arange(6.0))
    assert out.quotas == {1: 9} and len(nxt) == 9 + 1 + 1


@covers("keep_parents")
def test_keep_parents_zero_leaves_the_parent_pool_out():
    pop = [genome(0.1 * i) for i in range(6)]
    kept, out, _ = generation(engine_config(keep_parents=1, **QUIET), pop, np.arange(6.0))
    assert len(kept) == 5 and kept[1] == pop[5]              # elite, then T = (best member)
    dropped, out, _ = generation(engine_config(keep_parents=0, **QUIET), pop, np.arange(6.0))
    assert len(dropped) == 3 + 0 + 1 and out.parent_pool == 1


@covers("min_population")
def test_min_population_raises_the_quota_to_the_floor():
    pop = [genome(0.1 * i) for i in range(6)]
    nxt, out, _ = generation(engine_config(min_population=40), pop, np.arange(6.0))
    assert out.quotas == {1: 38} and len(nxt) == 40          # 38 + 1 kept parent + elite


@covers("max_population")
def test_max_population_bounds_every_generation():
    cfg = engine_config(max_population=12, initial_population=12, species_threshold=0.4)
    evo, pop = Evolution.start(cfg, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    capped = 0
    for k in range(5):
        fitness = rng.random(len(pop))
        j, _, _ = evo.observe(fitness)
        pop, out = evo.reproduce(pop, fitness, k, j)
        assert len(pop) == min(out.size_before_cap, 12)
        capped += out.size_before_cap > 12
    assert capped >= 3


# -- keys of the engine: species --------------------------------------------------------------

@covers("species_threshold")
def test_species_threshold_decides_the_species():
    """Weights 0, 3, 6 lie at δ = 1.2 and 2.4: first fit gives 3, 2 or 1 species."""
    pop = [genome(w) for w in (0, 0, 3, 3, 6, 6)]
    for threshold, species in ((1.0, 3), (2.0, 2), (3.0, 1), (2.5, 1)):
        _, out, _ = generation(engine_config(species_threshold=threshold), pop, np.arange(6.0))
        assert out.species == species, threshold


@covers("target_species")
def test_target_species_adapts_the_threshold_of_the_next_speciation():
    """Step 7.3: weights 0, 3, 6, 9 (δ = 1.2 between neighbours) form 4 species at 1.0 and
    2 at 2.3 (0 with 3, 6 with 9).  Both counts lie in the band of target 3 (2 to 4), so no
    search: 1.0 rises by the factor 1 + 0.3·(4 − 3)/3 to 1.1, 2.3 falls by 1 − 0.3/3 to 2.07,
    and without the key 2.3 stays.  Every pair is normalised then (5.2), which leaves these
    genomes (no excess or disjoint gene) at 0.4·W̄."""
    pop = [genome(w) for w in (0, 0, 3, 3, 6, 6, 9, 9)]
    fitness = np.arange(8.0)
    for start, target, species, threshold in ((2.3, None, 2, 2.3), (1.0, 3, 4, 1.1),
                                              (2.3, 3, 2, 2.07)):
        cfg = engine_config(species_threshold=start, target_species=target)
        _, out, evo = generation(cfg, pop, fitness)
        assert (out.species, evo.threshold) == (species, pytest.approx(threshold)), target


@covers("target_species")
def test_target_species_searches_the_threshold_when_the_count_leaves_the_band():
    """Step 7.1: weights 0, 3, 6 form 2 species at 2.3 and at 1.4.  Target 1 (band 1 to 1)
    doubles 2.3 to 4.6, where they form 1 species (then 4.6·(1 + 0)); target 6 (band 3 to 9)
    halves 1.4 to 0.7, below δ = 1.2, so 3 species (then 0.7·(1 − 0.3·3/6) = 0.595).  The
    search starts from the species before the step, so the failed tries found none."""
    pop = [genome(w) for w in (0, 0, 3, 3, 6, 6)]
    fitness = np.arange(6.0)
    for start, target, species, threshold in ((2.3, 1, 1, 4.6), (1.4, 6, 3, 0.595)):
        cfg = engine_config(species_threshold=start, target_species=target)
        _, out, evo = generation(cfg, pop, fitness)
        assert (out.species, evo.threshold) == (species, pytest.approx(threshold)), target
        assert [sp.id for sp in evo.species] == list(range(1, species + 1)), target


def _stagnant_species(n, stagnation):
    """n species (weights 0, 3, 6, ...) founded at generation 0 with best 100 and the given
    counter, two members each with raw fitness s - 1 for species s (species n holds j*)."""
    species = [(s + 1, 3.0 * s, 0, 100.0, stagnation) for s in range(n)]
    pop = [genome(3.0 * s) for s in range(n) for _ in range(2)]
    return species, pop, np.repeat(np.arange(float(n)), 2)


@covers("limiting_species")
def test_limiting_species_is_the_stagnation_limit_for_culling():
    """12 species whose counters reach 3: with L = 3 the two weakest are culled (step 9)."""
    species, pop, fit = _stagnant_species(12, 2)
    _, out, _ = generation(engine_config(species_threshold=0.5, limiting_species=3,
                                         limiting_threshold=0), pop, fit, 20, species=species)
    assert out.culled == (1, 2) and out.species == 10
    _, out, _ = generation(engine_config(species_threshold=0.5, limiting_species=4,
                                         limiting_threshold=0), pop, fit, 20, species=species)
    assert out.culled == ()


@covers("target_species")
def test_target_species_above_twenty_keeps_its_band_through_the_cull():
    """24 stagnant species: the cull keeps 10 without the key, ⌈24/2⌉ = 12 with target 24
    (step 9), so the count stays in the band of step 7.1 (12 to 36)."""
    species, pop, fit = _stagnant_species(24, 2)
    for target, kept in ((None, 10), (24, 12)):
        _, out, _ = generation(engine_config(species_threshold=0.5, limiting_species=3,
                                             limiting_threshold=0, target_species=target),
                               pop, fit, 20, species=species)
        assert out.culled == tuple(range(1, 25 - kept)) and out.species == kept, target


def test_the_threshold_search_doubles_halves_then_bisects():
    """Step 7.1's band and the θ its search tries next (docs/algorithm.md)."""
    assert [species_band(t, 100) for t in (1, 3, 10, 24)] == [(1, 1), (2, 4), (5, 15),
                                                               (12, 36)]
    assert species_band(10, 3) == (3, 15)
    assert next_threshold(1.5, None) == 3.0 and next_threshold(None, 1.5) == 0.75
    assert next_threshold(None, 0.06) == 0.05 and next_threshold(1.0, 4.0) == 2.0


def _mode_children(limiting_species, limiting_threshold, stagnation):
    """Children of one stagnant species with p_add = 1, p_rem = 0, gene 1 disabled: 6
    enabled genes after add-connection (normal mode), 4 after remove (simplification)."""
    cfg = engine_config(species_threshold=0.5, limiting_species=limiting_species,
                        limiting_threshold=limiting_threshold,
                        **{**QUIET, "add_connection_big_specie_rate": 1.0})
    pop = [genome(0.0, disabled=[0]) for _ in range(4)]
    nxt, out, _ = generation(cfg, pop, np.zeros(4), 20,
                             species=[(1, 0.0, 0, 100.0, stagnation)])
    return sorted({int(c.enabled.sum()) for c in children_of(nxt, out)})


@covers("limiting_threshold")
def test_limiting_threshold_sets_when_simplification_starts():
    """The counter reaches 11 (L = 15): simplification iff 11 >= L - H (spec step 9)."""
    assert _mode_children(15, 3, 10) == [6]      # 11 < 12: normal mode adds
    assert _mode_children(15, 4, 10) == [4]      # 11 >= 11: simplification removes
    assert _mode_children(15, 8, 6) == [4]       # 7 >= 7
    assert _mode_children(15, 8, 5) == [6]       # 6 < 7


@covers("limiting_species")
def test_limiting_species_sets_when_simplification_starts():
    assert _mode_children(14, 5, 8) == [4]       # 9 >= 14 - 5
    assert _mode_children(16, 5, 8) == [6]       # 9 < 16 - 5


def _three_species_population():
    """Species 1, 2, 3 (weights 0, 3, 6), raw f = f' with lo = 0 and hi = 1: means
    0.6, 0.5 and 0.2 as in spec section 10; ages 10, 2 and 1 at generation 9."""
    pop = [genome(w) for w in (0, 0, 3, 3, 6, 6)]
    fit = np.array([0.2, 1.0, 0.5, 0.5, 0.0, 0.4])
    species = [(1, 0.0, 0, 5.0, 0), (2, 3.0, 8, 5.0, 0), (3, 6.0, 9, 5.0, 0)]
    return pop, fit, species


@covers("age_significance")
def test_age_significance_changes_the_quotas():
    """adj_s = mean_s·(1 + (A - age_s)·α): spec section 10 gives Q = (1, 7, 1) for α = 0.3;
    α = 0.6 gives adj = (0.6, 2.9, 1.28), b = (0.0001, 2.3154, 0.6846), Q = (1, 6, 2);
    α = 0 gives F = (1, 0.75, 0), b = (1.714, 1.286, 0.0001), Q = (5, 4, 1)."""
    pop, fit, species = _three_species_population()
    expected = {0.3: {1: 1, 2: 7, 3: 1}, 0.6: {1: 1, 2: 6, 3: 2}, 0.0: {1: 5, 2: 4, 3: 1}}
    for alpha, quotas in expected.items():
        _, out, _ = generation(engine_config(species_threshold=0.5, age_significance=alpha),
                               pop, fit, 9, species=species)
        assert out.quotas == quotas, alpha


@covers("percentage_survivors_per_specie")
def test_percentage_survivors_sets_how_many_members_parent():
    """R = ceil(8·0.25) = 2: the 12 children copy members ranked 0, 1, 0, 1, … (step 11)."""
    pop = [genome(0.01 * i) for i in range(8)]
    cfg = engine_config(species_threshold=3.0, percentage_survivors_per_specie=0.25,
                        children=4, **QUIET)
    nxt, out, _ = generation(cfg, pop, np.arange(8.0))
    kids = children_of(nxt, out)
    assert [k.weight[0] for k in kids] == [pop[7 - q % 2].weight[0] for q in range(12)]


# -- keys of the engine: mutation -------------------------------------------------------------

def _one_species_children(seed=0, weight=0.0, disabled=(), n=8, children=4, rho=None, **rates):
    pop = [genome(weight, disabled) for _ in range(n)]
    cfg = engine_config(children=children, percentage_survivors_per_specie=1.0,
                        **{**QUIET, **rates})
    nxt, out, evo = generation(cfg, pop, np.zeros(n), seed=seed, rho=rho)
    return pop[0], children_of(nxt, out), evo


@covers("connection_mutation_rate")
def test_connection_mutation_rate_is_the_per_gene_weight_change_probability():
    parent, kids, _ = _one_species_children(connection_mutation_rate=1.0, weight=0.5)
    assert len(kids) == 12 and all((k.weight != parent.weight).all() for k in kids)
    parent, kids, _ = _one_species_children(connection_mutation_rate=0.0, weight=0.5)
    assert all((k.weight == parent.weight).all() for k in kids)
    _, kids, _ = _one_species_children(connection_mutation_rate=0.5, weight=0.5, children=40)
    changed = np.mean([k.weight != 0.5 for k in kids])
    assert 0.4 < changed < 0.6


@covers("weight_change_scale")
def test_weight_change_scale_multiplies_every_normal_weight_change():
    """docs/algorithm.md 5.4 b: a perturbed weight becomes w + scale·z, with the same draws
    whatever the scale: the children of 0.5-weight parents moved 0.1 times as far at 0.1 as
    at 1 (no replacements: ρ = 0).  The initial weight pass (4.2) uses it too."""
    moved = {}
    for scale in (1.0, 0.1):
        parent, kids, _ = _one_species_children(connection_mutation_rate=1.0, weight=0.5,
                                                new_connection_assignment_rate=0.0,
                                                weight_change_scale=scale)
        moved[scale] = np.concatenate([k.weight - parent.weight for k in kids])
    assert np.abs(moved[1.0]).max() > 0.5
    np.testing.assert_allclose(moved[0.1], 0.1 * moved[1.0], rtol=1e-12, atol=1e-15)
    start = {}
    for scale in (1.0, 0.5, 0.25):
        cfg = engine_config(initial_population=20, connection_mutation_rate=1.0,
                            new_connection_assignment_rate=0.0, weight_change_scale=scale)
        _, pop = Evolution.start(cfg, np.random.default_rng(3))
        start[scale] = np.concatenate([g.weight for g in pop])
    # w = w0 + scale·z: the steps from 0.25 to 0.5 and from 0.5 to 1 are z/4 and z/2
    np.testing.assert_allclose(start[1.0] - start[0.5], 2 * (start[0.5] - start[0.25]),
                               atol=1e-12)
    assert np.abs(start[1.0] - start[0.5]).max() > 0.1


@covers("new_connection_assignment_rate")
def test_new_connection_assignment_rate_replaces_weights_instead_of_perturbing():
    """Parents' weights are 50: a replaced weight lies in [-5, 5), a perturbed one near 50."""
    _, kids, evo = _one_species_children(weight=50.0, connection_mutation_rate=1.0,
                                         new_connection_assignment_rate=1.0)
    w = np.concatenate([k.weight for k in kids])
    assert evo.rho == 1.0 and (np.abs(w) <= 5.0).all()
    _, kids, evo = _one_species_children(weight=50.0, connection_mutation_rate=1.0,
                                         new_connection_assignment_rate=0.0)
    w = np.concatenate([k.weight for k in kids])
    assert evo.rho == 0.0 and (np.abs(w - 50.0) < 7.0).all()
    # the initial weight pass of generation 0 (spec 4.2) uses it too
    _, pop = Evolution.start(engine_config(initial_population=30, connection_mutation_rate=1.0,
                                           new_connection_assignment_rate=1.0),
                             np.random.default_rng(0))
    w = np.concatenate([g.weight for g in pop])
    assert np.abs(w).max() > 2.5


@covers("new_connection_assignment_rate", "same_fitness_limit")
def test_same_fitness_limit_is_the_stall_window_of_the_replace_rate():
    """Spec step 2: ρ rises by 0.03 after same_fitness_limit generations without a new best,
    and a new best resets it to new_connection_assignment_rate."""
    cfg = engine_config(same_fitness_limit=3, new_connection_assignment_rate=0.4)
    evo, _ = Evolution.start(cfg, np.random.default_rng(0))
    evo.observe(np.array([1.0]))
    rhos = []
    for _ in range(7):
        evo.observe(np.array([1.0]))
        rhos.append(round(evo.rho, 9))
    assert rhos == [0.4, 0.4, 0.43, 0.43, 0.43, 0.46, 0.46]
    evo.observe(np.array([2.0]))
    assert evo.rho == 0.4 and evo.stall == 0


@covers("add_connection_big_specie_rate")
def test_big_species_rate_adds_connections_in_big_species():
    """One species is big (n·S >= Σn): p_add = 1 re-enables the only candidate pair."""
    _, kids, _ = _one_species_children(disabled=[0], add_connection_big_specie_rate=1.0)
    assert len(kids) == 12 and all(k.enabled.all() for k in kids)
    _, kids, _ = _one_species_children(disabled=[0], add_connection_big_specie_rate=0.0,
                                       add_connection_small_specie_rate=1.0)
    assert not any(k.enabled[0] for k in kids)


@covers("add_connection_small_specie_rate")
def test_small_species_rate_adds_connections_in_small_species():
    """Sizes 3 and 1: 1·2 < 4, so species 2 is small and uses the small rate."""
    cfg = engine_config(species_threshold=0.5, keep_parents=0, children=2,
                        **{**QUIET, "add_connection_small_specie_rate": 1.0})
    pop = [genome(0.0, disabled=[0])] * 3 + [genome(5.0, disabled=[0])]
    nxt, out, _ = generation(cfg, pop, np.array([0.0, 0.0, 0.0, 1.0]))
    kids = children_of(nxt, out, keep_parents=0)
    small = [k for k in kids if k.weight[1] == 5.0]
    big = [k for k in kids if k.weight[1] == 0.0]
    assert len(small) >= 6 and all(k.enabled.all() for k in small)
    assert big and not any(k.enabled[0] for k in big)


@covers("add_node_specie_rate")
def test_add_node_rate_splits_a_connection_in_every_child():
    _, kids, evo = _one_species_children(add_node_specie_rate=1.0)
    for k in kids:
        assert k.hidden_nodes(N_IN, N_OUT).shape[0] == 1
        assert len(k) == 8 and int(k.enabled.sum()) == 7
    _, kids, _ = _one_species_children(add_node_specie_rate=0.0)
    assert all(len(k) == 6 for k in kids)


@covers("activate_connection_rate")
def test_activate_connection_rate_enables_disabled_genes():
    _, kids, _ = _one_species_children(disabled=[0, 2, 4], activate_connection_rate=1.0)
    assert all(k.enabled.all() for k in kids)
    _, kids, _ = _one_species_children(disabled=[0, 2, 4], activate_connection_rate=0.0)
    assert all(k.enabled.tolist() == [False, True] * 3 for k in kids)


@covers("remove_connection_rate")
def test_remove_connection_rate_disables_one_connection():
    """Normal mode, p_add = 0: with p_rem = 1 every child has one gene disabled (5.4 c)."""
    _, kids, _ = _one_species_children(remove_connection_rate=1.0)
    assert len(kids) == 12 and all(int(k.enabled.sum()) == 5 and len(k) == 6 for k in kids)
    assert len({tuple(k.enabled) for k in kids}) > 1            # picked uniformly
    _, kids, _ = _one_species_children(remove_connection_rate=0.0)
    assert all(k.enabled.all() for k in kids)


@covers("crossover_rate")
def test_crossover_rate_is_the_probability_per_pair_of_the_pool():
    """8 one-genome species of equal fitness: all b = 1, |T| = 8, four pairs (step 13)."""
    pop = [genome(3.0 * s) for s in range(8)]
    for rate, children in ((1.0, 4), (0.0, 0)):
        cfg = engine_config(species_threshold=0.5, crossover_rate=rate)
        nxt, out, _ = generation(cfg, pop, np.ones(8))
        assert out.parent_pool == 8 and out.crossover_children == children
        assert len(nxt) == 8 * 3 + 8 + children + 1


# -- distributed keys: a real Dask cluster in this process ------------------------------------

def _served_history(**keys):
    distributed = pytest.importorskip("distributed")
    cfg = ramp_config(**{**dict(initial_population=10, min_population=10, max_population=10,
                                generations=4, max_number_of_games=1, max_number_of_steps=3,
                                safeness=1.0, genomes_per_task=4,
                                alone_training_iterations=2), **keys})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1", dashboard_address=None) \
            as cluster:
        served = ezspark.train(cfg, scheduler=cluster.scheduler_address)
    local = ezspark.train(cfg)
    strip = lambda h: attrs.evolve(h, seconds=0.0, checks=0, mismatches=0, excluded=0)  # noqa
    assert [strip(h) for h in served.history] == [strip(h) for h in local.history]
    return [h.checks for h in served.history]


@covers("safeness", "genomes_per_task", "alone_training_iterations")
def test_distributed_keys_decide_which_batches_are_checked():
    """Spec 7: generations 0, 1 are evaluated alone; then 10 genomes make batches of 4, 4
    and 2, and with safeness 1 every remote batch is checked (here by the coordinator:
    the only worker shares its machine), with safeness 0 none."""
    assert _served_history() == [0, 0, 3, 3]
    assert _served_history(safeness=0.0) == [0, 0, 0, 0]


@covers("trusted_after", "safeness_floor")
def test_adaptive_verification_checks_a_trusted_worker_less():
    """Spec 7.2 rule 7, safeness 1, ten one-genome batches per distributed generation.
    Fixed verification checks all 20; with trusted_after 1 and floor 0 the only worker's
    checking probability falls as 1/n once one of its batches was confirmed, so far fewer
    are checked; with floor 1 every batch is checked again."""
    assert sum(_served_history(genomes_per_task=1)) == 20
    assert sum(_served_history(genomes_per_task=1, trusted_after=1,
                               safeness_floor=0.0)) < 20
    assert sum(_served_history(genomes_per_task=1, trusted_after=1,
                               safeness_floor=1.0)) == 20


@covers("recurrent")
def test_recurrent_lets_add_connection_close_cycles():
    """docs/algorithm.md 3.3: with recurrent true, add-connection may create cycles, self-loops
    and connections from outputs; with false every genome of every generation stays acyclic
    and no output is a source."""
    from ezspark.engine.operators import is_acyclic
    kinds = {}
    for recurrent in (False, True):
        cfg = engine_config(recurrent=recurrent, initial_population=30, min_population=30,
                            add_connection_big_specie_rate=1.0,
                            add_connection_small_specie_rate=1.0, add_node_specie_rate=0.3)
        found = set()
        for genomes in ranked_generations(cfg, seed=0, n=6):
            for g in genomes:
                pairs = list(zip(g.src.tolist(), g.dst.tolist()))
                found |= {"self-loop"} if any(a == b for a, b in pairs) else set()
                found |= {"output source"} if any(N_IN < a <= N_IN + N_OUT
                                                  for a, _ in pairs) else set()
                found |= set() if is_acyclic(g) else {"cycle"}
        kinds[recurrent] = found
    assert kinds == {False: set(), True: {"self-loop", "output source", "cycle"}}


class DarkEnv(gymnasium.Env):
    """Five steps of darkness: every observation is (0, 0), and action 1 earns 1 a step."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float64)
        self.action_space = spaces.Discrete(2)
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return np.zeros(2), {}

    def step(self, action):
        self._t += 1
        return np.zeros(2), float(action == 1), self._t >= 5, False, {}


DARK = "ezspark_keys/Dark-v0"
if DARK not in gymnasium.registry:
    gymnasium.register(DARK, entry_point=DarkEnv)


@covers("bias_input")
def test_bias_input_lets_a_network_act_on_an_all_zero_observation():
    """docs/algorithm.md 3.1 and 3.4: with bias_input every genome of generation 0 has a
    third input, connected to both outputs, whose value is 0.5, so some genomes choose
    action 1 on DarkEnv's zeros (return 5); without it both outputs of every genome of
    generation 0 equal sigma(1), the lowest index wins, and every genome scores 0."""
    best = {}
    for bias in (False, True):
        cfg = TrainingConfig(gym_game_name=DARK, input_size=2, output_size=2,
                             initial_population=20, generations=1, max_number_of_games=1,
                             max_number_of_steps=10, seed=3, validation_games=0,
                             bias_input=bias)
        result = ezspark.train(cfg)
        champion = result.champion
        best[bias] = result.history[0].best_fitness
        assert champion.n_inputs == 2 + bias and champion.observation_size == 2
        assert champion.bias_input is bias
        assert champion.act(np.zeros(2)) == (1 if bias else 0)
        assert set(champion.genome.src.tolist()) == set(range(1, 3 + bias))
    assert best == {False: 0.0, True: 5.0}


def test_the_bias_input_is_never_a_target():
    """docs/algorithm.md 3.1: the bias is an input: add-connection and add-node never make
    it a target, even with recurrent networks, and it stays a source of every genome."""
    bias_node = N_IN + 1
    cfg = engine_config(bias_input=True, recurrent=True, initial_population=30,
                        min_population=30, add_connection_big_specie_rate=1.0,
                        add_connection_small_specie_rate=1.0, add_node_specie_rate=0.5)
    sources = set()
    for genomes in ranked_generations(cfg, seed=1, n=8):
        for g in genomes:
            assert (g.dst > bias_node).all()
            sources |= set(g.src.tolist())
    assert bias_node in sources and max(sources) > bias_node + N_OUT   # hidden nodes came


class CueEnv(gymnasium.Env):
    """A cue of +1 or -1 (from the reset seed) at the first step, a 0 at the second; action
    1 after a +1 cue or 0 after a -1 earns 1 at the second step, the only reward."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float64)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._cue, self._t = float(self.np_random.choice([-1.0, 1.0])), 0
        return np.array([self._cue]), {}

    def step(self, action):
        self._t += 1
        if self._t == 1:
            return np.zeros(1), 0.0, False, False, {}
        return np.zeros(1), float(action == (self._cue > 0)), True, False, {}


CUE = "ezspark_keys/Cue-v0"
if CUE not in gymnasium.registry:
    gymnasium.register(CUE, entry_point=CueEnv)


@covers("initial_self_loops")
def test_initial_self_loops_give_generation_0_a_memory():
    """docs/algorithm.md 3.2 and 4: with initial_self_loops every genome of generation 0 has
    the self-loop o -> o of each output after its I·O genes, innovation I·O + j.  Those
    loops carry the cue of CueEnv's first step into the second, so generation 0 holds a
    genome that answers every one of 12 games; without them every genome of generation 0
    is feed-forward, answers the second step's 0 the same way whatever the cue, and scores
    the share of games whose cue matches that answer."""
    best = {}
    for loops in (False, True):
        genomes = next(ranked_generations(engine_config(recurrent=True, initial_self_loops=loops),
                                          seed=0, n=1))
        outputs = list(range(N_IN + 1, N_IN + N_OUT + 1))
        loop_genes = [(inn, a) for g in genomes for inn, a, b in zip(
            g.innovation.tolist(), g.src.tolist(), g.dst.tolist()) if a == b]
        expected = [(N_IN * N_OUT + j + 1, o) for j, o in enumerate(outputs)] if loops else []
        assert loop_genes == expected * len(genomes)
        cfg = TrainingConfig(gym_game_name=CUE, input_size=1, output_size=2, recurrent=True,
                             initial_self_loops=loops, initial_population=60, generations=1,
                             max_number_of_games=12, max_number_of_steps=5, seed=5,
                             validation_games=0)
        best[loops] = ezspark.train(cfg).history[0].best_fitness
    assert best[True] == 1.0 and best[False] < 1.0


# -- the meta-tests ---------------------------------------------------------------------------

def test_every_config_key_has_a_test():
    keys = [field.name for field in attrs.fields(TrainingConfig)]
    assert len(keys) == 41 and len(set(keys)) == 41
    missing = [key for key in keys if not KEY_TESTS.get(key)]
    assert not missing, f"config keys with no test that fails when they are ignored: {missing}"
    assert set(KEY_TESTS) <= set(keys)


@contextlib.contextmanager
def forced_default(key: str):
    """Every TrainingConfig built inside has ``key`` set to its default after validation:
    what a component that ignored the key would see."""
    default = getattr(attrs.fields(TrainingConfig), key).default
    original = TrainingConfig.__attrs_post_init__

    def post_init(self):
        original(self)
        object.__setattr__(self, key, default)

    TrainingConfig.__attrs_post_init__ = post_init
    try:
        yield
    finally:
        TrainingConfig.__attrs_post_init__ = original


def _call(test):
    with tempfile.TemporaryDirectory() as tmp:
        params = inspect.signature(test).parameters
        test(**({"tmp_path": Path(tmp)} if "tmp_path" in params else {}))


@pytest.mark.slow
@pytest.mark.parametrize("key", TrainingConfig.keys())
def test_key_tests_fail_when_their_key_is_ignored(key):
    assert KEY_TESTS.get(key), key
    for test in KEY_TESTS[key]:
        with forced_default(key), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _call(test)
            except (Exception, pytest.fail.Exception):
                continue
        pytest.fail(f"{test.__name__} passes with {key} forced to its default")


@covers("validation_games")
def test_validation_games_is_the_number_of_validation_episodes_of_a_stored_champion():
    """Each stored champion plays that many fresh episodes (docs/algorithm.md 6.5); 0 plays
    none and hands out the newest champion.  The history is the same either way."""
    scored = {}
    for games in (0, 3):
        pm = make_plugin_manager(autoload=False)
        log = ChampionLog()
        pm.register(log)
        cfg = TrainingConfig.from_dict(dict(
            gym_game_name="CartPole-v1", input_size=4, output_size=2, initial_population=10,
            generations=3, max_number_of_games=1, max_number_of_steps=50,
            validation_games=games))
        result = ezspark.train(cfg, seed=1, plugins=pm)
        scored[games] = result
        if games:
            first = int(validation_seeds(1, 3)[0])
            for c in log.champions:
                returns = episode_returns(c, episodes=3, seed=first, max_steps=50)
                assert c.validation == pytest.approx(sum(returns) / 3, abs=1e-12)
            assert log.champions[0].validation_steps == sum(episode_returns(
                log.champions[0], episodes=3, seed=first, max_steps=50))
        else:
            assert all(math.isnan(c.validation) for c in log.champions)
            assert result.champion.generation == 2
    assert [h.best_fitness for h in scored[0].history] == [h.best_fitness
                                                           for h in scored[3].history]
