"""Tests written for mutants of ezspark/engine/evolution.py that survived mutation testing
(docs/testing.md, "Mutation testing").  Each names the rule it pins and the mutation it
kills; the populations are built by hand as in tests/test_generation_rules.py (one weight
level per species, levels 3 apart, threshold 0.5, every mutation rate 0)."""
from __future__ import annotations

import numpy as np

from ezspark.config.training import TrainingConfig
from ezspark.engine.evolution import Evolution, Species, floor_shares, species_quotas
from ezspark.engine.genome import Genome

QUIET = dict(connection_mutation_rate=0.0, add_connection_big_specie_rate=0.0,
             add_connection_small_specie_rate=0.0, add_node_specie_rate=0.0,
             activate_connection_rate=0.0, remove_connection_rate=0.0, crossover_rate=0.0)


def config(**keys) -> TrainingConfig:
    base = dict(input_size=3, output_size=2, initial_population=4, max_population=400,
                species_threshold=0.5, children=1, **QUIET)
    base.update(keys)
    return TrainingConfig(**base)


def genome(weight) -> Genome:
    """Genes 1 … 6 (input a -> output), weights ``weight`` (a number or six numbers)."""
    w = np.broadcast_to(np.asarray(weight, dtype=float), (6,)).copy()
    return Genome(np.arange(1, 7), np.repeat(np.arange(1, 4), 2), np.tile(np.arange(4, 6), 3),
                  w, np.ones(6, dtype=bool))


def generation(genomes, fitness, species=(), k=0):
    """One generation of a fresh engine whose species table holds ``species``: (id,
    representative weight) pairs founded at 0.  Returns the engine and the outcome."""
    evo, _ = Evolution.start(config(), np.random.default_rng(0))
    evo.species = [Species(id=i, representative=genome(w), founded=0, best=1e9)
                   for i, w in species]
    evo.next_species_id = len(species) + 1
    j, _, _ = evo.observe(fitness)
    _, outcome = evo.reproduce(list(genomes), fitness, k, j)
    return evo, outcome


# -- step 6 and step 10: the float64 arithmetic of the quotas ---------------------------------

def test_step6_normalisation_divides_by_the_fitness_range():
    """f = (6, 7, 3, 9, 5), species {0, 1}, {2, 3}, {4}: f' = (f − 3)/6, means (0.583, 0.5,
    0.333), F = (1, 2/3, 0), b = (1.8, 1.2, 0.0001), Q = (5, 3, 1) exactly as in real
    numbers.  Kills f' = (f − lo)·(hi − lo): the quotas are scale-free only in real
    arithmetic, in float64 the middle one becomes 4."""
    pop = [genome(w) for w in (0, 0, 3, 3, 6)]
    _, out = generation(pop, np.array([6.0, 7.0, 3.0, 9.0, 5.0]))
    assert out.quotas == {1: 5, 2: 3, 3: 1}


def test_step10_scores_divide_by_the_range_of_the_adjusted_means():
    """Means (0.9, 0.6, 0.5), equal ages: F = (1, 0.25, 0), b = (2.4, 0.6, 0.0001), Q = (6, 2,
    1) as in real numbers.  Kills F = (adj − lo)·(hi − lo) and (adj − lo)/(hi + lo), which
    give b_1 = 2.4000000000000004 and Q_1 = 7."""
    b, quota = species_quotas(np.array([0.9, 0.6, 0.5]), np.ones(3, dtype=np.int64), 0.3, 1)
    assert b[0] == 2.4 and quota.tolist() == [6, 2, 1]


def test_reproduce_computes_in_float64_whatever_the_fitness_dtype():
    """docs/algorithm.md 1.2: float64 throughout.  float32 fitness (−2^24, −0.5, 2^24), one
    genome per species: in float64 f'_2 = (2^24 − 0.5)/2^25 < 0.5, so b_2 < 1 and species 2
    is not a parent; in float32 2^24 − 0.5 rounds to 2^24 and b_2 = 1.  Kills dropping
    dtype=float64 from the conversion of the fitness."""
    pop = [genome(w) for w in (0, 3, 6)]
    fitness = np.array([-2.0 ** 24, -0.5, 2.0 ** 24])
    _, out64 = generation(pop, fitness)
    _, out32 = generation(pop, fitness.astype(np.float32))
    assert out64.parent_pool == 1
    assert out32 == out64


def test_step10_floor_shares_are_integer_counts():
    """floor_shares returns offspring counts: int64, usable as repeat counts, for a deficit
    and for none.  Kills np.zeros without dtype (float64 counts)."""
    b = np.array([0.5, 1.5, 1.0])
    for deficit, expected in ((6, [1, 3, 2]), (0, [0, 0, 0])):
        extra = floor_shares(deficit, b)
        assert extra.dtype == np.int64 and extra.tolist() == expected
        assert np.repeat(np.arange(3), extra).shape == (deficit,)


# -- step 7: members gathered in index order --------------------------------------------------

def test_step7_new_representative_is_the_lowest_index_among_equally_close_members():
    """400 genomes, members of the two old species scattered at random: every member of
    species 1 is different and at the same δ = 0.1 from its old representative, so the new
    one is its lowest-index member.  numpy's default (unstable) argsort puts another member
    first in this layout (with a regular alternating one it keeps index 0 first).  Kills
    argsort without kind="stable"."""
    in_first = np.random.default_rng(0).integers(0, 2, 400) == 0
    pop = [genome([i / 512, 1.5 - i / 512, 0, 0, 0, 0]) if first else genome(10.0)
           for i, first in enumerate(in_first)]
    evo, out = generation(pop, np.zeros(400), species=[(1, 0.0), (2, 10.0)], k=3)
    assert out.species == 2
    assert evo.species[0].representative == pop[int(np.flatnonzero(in_first)[0])]
