"""The rules of one generation (docs/algorithm.md 5.1) pinned tightly enough that a one-line
mutation of the engine fails a test (issue 12).

Each test names the rule and the mutation it kills.  The populations are built by hand (one
weight level per species: levels 3 apart are at δ = 1.2, other species at threshold 0.5) and
every mutation rate is 0 unless the rule needs it, so the next generation is made of exact
copies whose origin can be read from their weights.
"""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest

from ezspark.config.training import TrainingConfig
from ezspark.engine.evolution import Evolution, Species, floor_shares, species_quotas
from ezspark.engine.genome import Genome

N_IN, N_OUT = 3, 2

QUIET = dict(connection_mutation_rate=0.0, add_connection_big_specie_rate=0.0,
             add_connection_small_specie_rate=0.0, add_node_specie_rate=0.0,
             activate_connection_rate=0.0, remove_connection_rate=0.0, crossover_rate=0.0)


def config(**keys) -> TrainingConfig:
    base = dict(input_size=N_IN, output_size=N_OUT, initial_population=4, max_population=300,
                species_threshold=0.5)
    base.update(keys)
    return TrainingConfig(**base)


def genome(weight, disabled=()) -> Genome:
    """Genes 1 … 6 (input a -> output), weights ``weight`` (a number or six numbers)."""
    w = np.broadcast_to(np.asarray(weight, dtype=float), (6,)).copy()
    g = Genome(np.arange(1, 7), np.repeat(np.arange(1, 4), 2), np.tile(np.arange(4, 6), 3),
               w, np.ones(6, dtype=bool))
    for i in disabled:
        g.enabled[i] = False
    return g


def engine(cfg, species=(), seed=0) -> Evolution:
    """An Evolution whose species table holds ``species``: (id, representative weight,
    founded, best, stagnation) tuples."""
    evo, _ = Evolution.start(cfg, np.random.default_rng(seed))
    evo.species = [Species(id=i, representative=genome(w), founded=f, best=b, stagnation=c)
                   for i, w, f, b, c in species]
    evo.next_species_id = max((s[0] for s in species), default=0) + 1
    return evo


def step(evo, genomes, fitness, k=0, rho=None):
    fitness = np.asarray(fitness, dtype=float)
    j, _, _ = evo.observe(fitness)
    if rho is not None:
        evo.rho = rho
    return evo.reproduce(list(genomes), fitness, k, j)


def naive_quotas(norm_means, ages, alpha, children):
    """Spec step 10 written out with plain floats, for the species in id order."""
    oldest = max(ages)
    adj = [m * (1 + (oldest - a) * alpha) for m, a in zip(norm_means, ages)]
    lo, hi = min(adj), max(adj)
    F = [(x - lo) / (hi - lo) if hi > lo else 0.0 for x in adj]
    a = 0.0
    for x in F:
        a += x
    a /= len(F)
    if a == 0:
        b = [1.0] * len(F)
    else:
        b = [min(x / a, 20.0) for x in F]
        b = [0.0001 if x == 0 else x for x in b]
    return [children * math.ceil(2.5 * x) for x in b], b


# -- step 5: the cap --------------------------------------------------------------------------

def test_step5_cap_keeps_the_best_ties_to_lower_index_in_their_order():
    """Kills: keeping one genome too many or too few, keeping the worst, ties to the higher
    index, losing the relative order (no sort), mapping j* into P' wrongly."""
    pop = [genome(3.0 * i) for i in range(6)]              # six species
    fit = [3.0, 0.0, 7.0, 4.0, 5.0, 3.0]          # top 4: 2, 4, 3, then 0 (tie with 5)
    evo = engine(config(max_population=4, **QUIET))
    nxt, out = step(evo, pop, fit)
    assert [s.representative.weight[0] for s in evo.species] == [0.0, 6.0, 9.0, 12.0]
    assert [s.id for s in evo.species] == [1, 2, 3, 4]     # founded in P' order
    assert out.champion_index == 2 and out.champion_species == 2
    assert nxt[0] == pop[2]


def test_step5_cap_is_inactive_at_exactly_max_population():
    pop = [genome(3.0 * i) for i in range(4)]
    evo = engine(config(max_population=4, **QUIET))
    step(evo, pop, [4.0, 1.0, 3.0, 2.0])
    assert [s.representative.weight[0] for s in evo.species] == [0.0, 3.0, 6.0, 9.0]


# -- step 6: normalisation --------------------------------------------------------------------

def _three_species(fit):
    """Species 1, 2, 3 (weights 0, 3, 6; two members each) of ages 10, 2 and 1 at k = 9."""
    pop = [genome(w) for w in (0, 0, 3, 3, 6, 6)]
    evo = engine(config(**QUIET), species=[(1, 0.0, 0, 1e9, 0), (2, 3.0, 8, 1e9, 0),
                                           (3, 6.0, 9, 1e9, 0)])
    return step(evo, pop, fit, 9)


@pytest.mark.parametrize("offset,scale", [(0.0, 1.0), (10.0, 3.0), (-20.0, 3.0),
                                          (-0.5, 0.25), (1e3, 1e-2)])
def test_step6_normalisation_is_min_max_over_the_population(offset, scale):
    """f' = (f - lo)/(hi - lo) with lo the true minimum: any affine change of the raw
    fitness gives the quotas of spec section 10's example (1, 7, 1).  Kills lo = f_0 (the
    original), lo = max, f + lo, and denominators that are not hi - lo up to a positive
    factor (hi, hi + lo: negative here)."""
    f_norm = np.array([0.2, 1.0, 0.5, 0.5, 0.0, 0.4])       # means 0.6, 0.5, 0.2
    _, out = _three_species(offset + scale * f_norm)
    assert out.quotas == {1: 1, 2: 7, 3: 1}


def test_step6_worked_example_values():
    """Spec 10: f = (12, -3, 7, -3, 22) gives f' = (0.6, 0, 0.4, 0, 1); one genome per
    species, ages 5, 4, 3, 2, 1, α = 0.3."""
    pop = [genome(3.0 * s) for s in range(5)]
    evo = engine(config(**QUIET), species=[(s + 1, 3.0 * s, s, 1e9, 0) for s in range(5)])
    _, out = step(evo, pop, [12.0, -3.0, 7.0, -3.0, 22.0], 4)
    expected, _ = naive_quotas([0.6, 0.0, 0.4, 0.0, 1.0], [5, 4, 3, 2, 1], 0.3, 1)
    assert list(out.quotas.values()) == expected == [3, 1, 3, 1, 8]


def test_step6_equal_fitness_normalises_to_zero():
    """hi = lo: f' = 0 for every genome, so adj = 0, a = 0 and b = 1 whatever the ages
    (Q = 3 each).  Kills f' = 1 (ages would then matter) and hi >= lo (0/0 = NaN, which
    the later steps happen to mask: numpy's warning shows it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, out = _three_species(np.full(6, 4.0))
    assert out.quotas == {1: 3, 2: 3, 3: 3}


# -- step 7: first fit, δ < threshold ---------------------------------------------------------

def test_step7_a_genome_at_exactly_the_threshold_founds_a_species():
    pop = [genome(0.0), genome(3.0)]                        # δ = 0.4·3.0
    evo = engine(config(species_threshold=0.4 * 3.0, **QUIET))
    _, out = step(evo, pop, [1.0, 0.0])
    assert out.species == 2
    evo = engine(config(species_threshold=np.nextafter(0.4 * 3.0, 2.0), **QUIET))
    _, out = step(evo, pop, [1.0, 0.0])
    assert out.species == 1


# -- step 9: cull tie-break -------------------------------------------------------------------

def test_step9_cull_ties_go_to_the_higher_id_first():
    """13 stagnant species, r = 3: m = 0 for species 1 and 2, 1 for 3 … 12, species 13 holds
    j*.  Cull the lowest m (1, 2), then of the tied rest the highest id (12).  Kills ties
    to the lower id, sorting by best_s (100 for all) instead of m_s, and r off by one."""
    n = 13
    pop = [genome(3.0 * s) for s in range(n)]
    m = [0.0, 0.0] + [1.0] * 10 + [2.0]
    evo = engine(config(limiting_species=3, limiting_threshold=0, **QUIET),
                 species=[(s + 1, 3.0 * s, 0, 100.0, 5) for s in range(n)])
    _, out = step(evo, pop, m, 20)
    assert out.culled == (1, 2, 12) and out.species == 10
    assert [s.id for s in evo.species] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13]


def test_step9_stagnation_counts_only_generations_without_improvement():
    """c_s >= L with L = 3: a counter of 2 before the step reaches 3 and is culled, a counter
    of 1 reaches 2 and is not (11 species: r = 1)."""
    n = 11
    pop = [genome(3.0 * s) for s in range(n)]
    evo = engine(config(limiting_species=3, limiting_threshold=0, **QUIET),
                 species=[(s + 1, 3.0 * s, 0, 100.0, 1 if s == 0 else 2) for s in range(n)])
    _, out = step(evo, pop, np.arange(float(n)), 20)
    assert out.culled == (2,)


# -- step 10: big species ---------------------------------------------------------------------

def test_step10_a_species_of_exactly_mean_size_is_big():
    """Sizes 3, 1, 2 (mean 2): species 3 has n·S = 6 = Σn, so it is big and adds a
    connection with p_big = 1 (re-enabling gene 1); species 2 is small (p_small = 0).
    Kills >= -> >."""
    pop = ([genome(0.0, [0])] * 3 + [genome(3.0, [0])] + [genome(6.0, [0])] * 2)
    evo = engine(config(**{**QUIET, "add_connection_big_specie_rate": 1.0}))
    nxt, out = step(evo, pop, np.zeros(6))
    assert out.quotas == {1: 3, 2: 3, 3: 3}
    kids = [nxt[i] for i in range(1 + out.parent_pool, len(nxt))]
    by_level = {w: [k for k in kids if k.weight[1] == w] for w in (0.0, 3.0, 6.0)}
    assert all(len(v) == 3 for v in by_level.values())
    assert all(k.enabled.all() for k in by_level[0.0] + by_level[6.0])
    assert not any(k.enabled[0] for k in by_level[3.0])


# -- step 10: min_population floor ------------------------------------------------------------

@pytest.mark.parametrize("keep_parents,quota", [(1, 18), (0, 19)])
def test_step10_floor_counts_kept_parents(keep_parents, quota):
    """B = ΣQ + keep_parents·|T| + 1: one species, min_population 20 gives exactly 20
    genomes with or without kept parents.  Kills dropping or forcing the keep_parents
    term."""
    pop = [genome(0.01 * i) for i in range(6)]
    evo = engine(config(min_population=20, keep_parents=keep_parents, species_threshold=3.0,
                        **QUIET))
    nxt, out = step(evo, pop, np.arange(6.0))
    assert out.quotas == {1: quota} and len(nxt) == 20


def test_step10_floor_shares_the_deficit_in_proportion_to_b():
    """Spec step 10 (floor): with b = (0.0001, 2.6613, 0.33871) (section 10's example),
    B = 9 + 1 + 1 = 11, d = 19: shares (0.0006, 16.85, 2.15), floors (0, 16, 2), the one
    left goes to the largest remainder (species 2): Q = (1, 24, 3), N = 30."""
    fit = np.array([0.2, 1.0, 0.5, 0.5, 0.0, 0.4])
    pop = [genome(w) for w in (0, 0, 3, 3, 6, 6)]
    evo = engine(config(min_population=30, **QUIET),
                 species=[(1, 0.0, 0, 1e9, 0), (2, 3.0, 8, 1e9, 0), (3, 6.0, 9, 1e9, 0)])
    nxt, out = step(evo, pop, fit, 9)
    base, b = naive_quotas([0.6, 0.5, 0.2], [10, 2, 1], 0.3, 1)
    share = [19 * x / sum(b) for x in b]
    extra = [math.floor(x) for x in share]
    left = 19 - sum(extra)
    for s in sorted(range(3), key=lambda s: (-(share[s] - extra[s]), s))[:left]:
        extra[s] += 1
    assert list(out.quotas.values()) == [q + e for q, e in zip(base, extra)] == [1, 24, 3]
    assert len(nxt) == 30


# -- step 12: parent pool b >= 1 --------------------------------------------------------------

@pytest.mark.parametrize("x,pool", [(0.49, 1), (0.5, 2), (0.51, 2)])
def test_step12_parent_pool_is_b_at_least_one(x, pool):
    """One genome per species with f = (0, 1, x), equal ages: F = (0, 1, x), a = (1 + x)/3,
    b_3 = 3x/(1 + x): 0.987 (out), exactly 1 (in), 1.013 (in).  Kills > 1 and thresholds
    other than 1 (b >= a, the original's rule, would admit x = 0.49)."""
    pop = [genome(0.0), genome(3.0), genome(6.0)]
    evo = engine(config(**QUIET))
    nxt, out = step(evo, pop, [0.0, 1.0, x])
    assert out.parent_pool == pool
    assert [nxt[i] for i in range(1, 1 + pool)] == [pop[1], pop[2]][:pool]   # T in id order


# -- step 11 and 5.4: ρ reaches mutation ------------------------------------------------------

def _replaced_share(evo, n=8):
    """Share of child weights replaced by U(-5, 5) when every weight mutates and the
    parents' weights are 50."""
    pop = [genome(50.0) for _ in range(n)]
    nxt, out = evo.reproduce(pop, np.zeros(n), 40, 0)
    kids = [nxt[i] for i in range(2, len(nxt))]
    w = np.concatenate([k.weight for k in kids])
    return float(np.mean(np.abs(w) <= 5.0)), w.shape[0]


def test_rho_after_stalls_reaches_the_mutation_of_weights():
    """Spec step 2 and 5.4 b: the current ρ, not new_connection_assignment_rate, decides a
    replacement.  With rate 0 and same_fitness_limit 1, 33 stalls raise ρ to 0.99."""
    cfg = config(new_connection_assignment_rate=0.0, same_fitness_limit=1,
                 **{**QUIET, "connection_mutation_rate": 1.0}, children=10)
    evo = engine(cfg)
    evo.observe(np.array([1.0]))
    for _ in range(33):
        evo.observe(np.array([1.0]))
    assert evo.rho == pytest.approx(0.99)
    share, genes = _replaced_share(evo)
    assert genes == 30 * 6 and share > 0.95
    evo = engine(cfg)
    evo.observe(np.array([1.0]))
    assert _replaced_share(evo)[0] == 0.0


def test_rho_is_used_as_it_is_not_as_configured():
    cfg = config(new_connection_assignment_rate=1.0, children=10,
                 **{**QUIET, "connection_mutation_rate": 1.0})
    evo = engine(cfg)
    evo.rho = 0.0
    assert _replaced_share(evo)[0] == 0.0
    evo.rho = 0.5
    assert 0.35 < _replaced_share(evo)[0] < 0.65


# -- step 15: assembly and round-robin --------------------------------------------------------

def _round_robin_case(max_population=300):
    """Species 1, 2, 3 with section 10's quotas times 2 (children = 2): Q = (2, 14, 2).
    Members differ by 0.01 in weight so every child names its parent."""
    pop = [genome(w) for w in (0.0, 0.01, 3.0, 3.01, 6.0, 6.01)]
    fit = [0.2, 1.0, 0.5, 0.5, 0.0, 0.4]
    evo = engine(config(children=2, percentage_survivors_per_specie=1.0,
                        max_population=max_population, **QUIET),
                 species=[(1, 0.0, 0, 1e9, 0), (2, 3.0, 8, 1e9, 0), (3, 6.0, 9, 1e9, 0)])
    nxt, out = step(evo, pop, fit, 9)
    return pop, nxt, out


def test_step15_order_elite_pool_then_round_robin_offspring():
    """Spec step 15: C_k, T, crossover children, then child 0 of every species in id order,
    child 1 of every species, …, then the rest of species 2.  Child q of a species copies
    its member ranked q mod R (ranked by f, ties to the lower index)."""
    pop, nxt, out = _round_robin_case()
    assert out.quotas == {1: 2, 2: 14, 3: 2} and out.parent_pool == 1
    ranked = {1: [1, 0], 2: [2, 3], 3: [5, 4]}
    expected = [1, 2]                                       # elite (f = 1.0), T = species 2
    for q in range(14):
        for s in (1, 2, 3):
            if q < out.quotas[s]:
                expected.append(ranked[s][q % 2])
    assert [float(nxt[i].weight[0]) for i in range(len(nxt))] == \
        [float(pop[i].weight[0]) for i in expected]


def test_step15_cut_drops_the_last_offspring_first():
    """max_population = 7: the elite, T, and round-robin children 0 and 1 of species 1 to 3
    ... cut after 7 genomes: the tail of species 2's quota goes first."""
    pop, full, _ = _round_robin_case()
    _, cut, out = _round_robin_case(max_population=7)
    assert len(cut) == 7 and out.size_before_cap == len(full) == 20
    assert [cut[i] for i in range(7)] == [full[i] for i in range(7)]


# -- step 13: crossover tie-break -------------------------------------------------------------

def _crossover_case(fit, seed=0):
    """Species 1, 2 (genomes A, B: weights 1…6 and 11…16) and 3 (weight 30): with f =
    (1, 1, 0) both A and B have b = 1.5 and form T; crossover_rate 1 pairs them.  Returns
    the crossover child, A, B and the shuffle and gene draws replayed from a copy of the
    evolution stream (layout: docs/algorithm.md 1.3:
    gene_u[genes, 4], gene_z[genes], child_u[children, 6], the permutation of T, one
    rate test per pair, one draw per gene of the fitter parent)."""
    A, B = genome(np.arange(1.0, 7.0)), genome(np.arange(11.0, 17.0))
    pop = [A, B, genome(30.0)]
    evo = engine(config(**{**QUIET, "crossover_rate": 1.0}), seed=seed)
    fit = np.asarray(fit, dtype=float)
    j, _, _ = evo.observe(fit)
    replay = copy.deepcopy(evo.rng)
    nxt, out = evo.reproduce(pop, fit, 0, j)
    assert out.parent_pool == 2 and out.crossover_children == 1
    children = sum(out.quotas.values())
    genes = 6 * children
    replay.random((genes, 4))
    replay.standard_normal(genes)
    replay.random((children, 6))
    order = replay.permutation(2)
    assert replay.random() < 1.0
    gene_u = replay.random(6)
    child = nxt[1 + out.parent_pool]                        # after the elite and T
    return child, A, B, [A, B][order[0]], [A, B][order[1]], gene_u


def _cross(p, q, gene_u):
    return np.where(gene_u < 0.5, p.weight, q.weight)


def test_step13_crossover_fitter_parent_and_draws():
    """A strictly fitter (1 vs 1 - 1e-9): A is p whatever the shuffle; matching genes come
    from p when the draw is < 0.5 (spec 5.5).  Also checks the replayed draws."""
    child, A, B, _, _, gene_u = _crossover_case([1.0, 1.0 - 1e-9, 0.0])
    assert child.weight.tolist() == _cross(A, B, gene_u).tolist()
    child, A, B, _, _, gene_u = _crossover_case([1.0 - 1e-9, 1.0, 0.0])
    assert child.weight.tolist() == _cross(B, A, gene_u).tolist()


def test_step13_crossover_tie_goes_to_the_first_of_the_pair():
    """Equal fitness: p = T*[2p], the first of the pair.  Kills >= -> >.  The seeds give
    both shuffles of T."""
    firsts = set()
    for seed in range(6):
        child, A, B, first, second, gene_u = _crossover_case([1.0, 1.0, 0.0], seed)
        assert child.weight.tolist() == _cross(first, second, gene_u).tolist()
        assert child.weight.tolist() != _cross(second, first, gene_u).tolist()
        firsts.add(first.weight[0])
    assert firsts == {1.0, 11.0}


# -- more rules, each found by a mutant that survived (docs/testing.md) -----------------------

def test_step13_pairs_are_consecutive_in_the_shuffled_pool():
    """|T| = 4: the pairs are (T*[0], T*[1]) and (T*[2], T*[3]) (spec step 13); each child
    takes matching genes from the fitter (here the first) of its pair."""
    pool = [genome(np.arange(1.0, 7.0) + 10 * i) for i in range(4)]
    for seed in range(3):
        evo = engine(config(**{**QUIET, "crossover_rate": 1.0}), seed=seed)
        fit = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
        j, _, _ = evo.observe(fit)
        replay = copy.deepcopy(evo.rng)
        nxt, out = evo.reproduce(pool + [genome(60.0)], fit, 0, j)
        assert out.parent_pool == 4 and out.crossover_children == 2
        children = sum(out.quotas.values())
        replay.random((6 * children, 4))
        replay.standard_normal(6 * children)
        replay.random((children, 6))
        order = replay.permutation(4)
        for p in range(2):
            assert replay.random() < 1.0
            u = replay.random(6)
            first, second = pool[order[2 * p]], pool[order[2 * p + 1]]
            assert nxt[5 + p].weight.tolist() == _cross(first, second, u).tolist()


def _assembly_case(max_population):
    """8 one-genome species of equal fitness: elite, T (8), 4 crossover children, 24
    offspring: 37 genomes before the cut."""
    pop = [genome(3.0 * s) for s in range(8)]
    evo = engine(config(initial_population=1, max_population=max_population,
                        **{**QUIET, "crossover_rate": 1.0}))
    return step(evo, pop, np.ones(8))


@pytest.mark.parametrize("max_population", [8, 9, 10, 11, 13, 14, 15, 36])
def test_step15_cut_is_a_prefix_of_the_assembled_list(max_population):
    """The cut keeps the first max_population genomes of elite, T, crossover children and
    round-robin offspring, also when it falls inside T, at a part boundary, with one slot
    left, or inside the crossover children."""
    full, out = _assembly_case(300)
    assert len(full) == 37 and out.size_before_cap == 37
    cut, out = _assembly_case(max_population)
    assert out.size_before_cap == 37 and len(cut) == max_population
    assert [cut[i] for i in range(max_population)] == [full[i] for i in range(max_population)]


def test_outcome_reports_the_champion():
    pop = [genome(3.0 * s) for s in range(3)]
    _, out = step(engine(config(**QUIET)), pop, [1.0, 4.5, 2.0])
    assert out.champion_index == 1 and out.champion_fitness == 4.5
    assert out.champion_species == 2 and out.species == 3


def test_step8_a_best_equal_to_the_old_one_is_no_improvement():
    """c_s grows unless m_s > best_s (strictly)."""
    evo = engine(config(**QUIET), species=[(1, 0.0, 0, 5.0, 2)])
    step(evo, [genome(0.0), genome(0.0)], [5.0, 5.0], 3)
    assert evo.species[0].stagnation == 3 and evo.species[0].best == 5.0
    evo = engine(config(**QUIET), species=[(1, 0.0, 0, 5.0, 2)])
    step(evo, [genome(0.0), genome(0.0)], [5.5, 5.0], 3)
    assert evo.species[0].stagnation == 0 and evo.species[0].best == 5.5


def test_step10_species_means_are_over_their_own_members():
    """Sizes 2, 1, 3 with mean f' 0.5, 0.5, 0.2 (equal ages): F = (1, 1, 0), b = 1.5, 1.5,
    0.0001, Q = (4, 4, 1); a sum instead of a mean would favour the big species."""
    pop = [genome(0.0), genome(0.0), genome(3.0), genome(6.0), genome(6.0), genome(6.0)]
    _, out = step(engine(config(**QUIET)), pop, [1.0, 0.0, 0.5, 0.2, 0.2, 0.2])
    expected, _ = naive_quotas([0.5, 0.5, 0.2], [1, 1, 1], 0.3, 1)
    assert list(out.quotas.values()) == expected == [4, 4, 1]


def _long_genome(extra_innovations, src):
    """The six initial genes, then one gene (src -> new hidden node) per extra innovation."""
    inn = list(range(1, 7)) + list(extra_innovations)
    hidden = list(range(6 + 100 * src, 6 + 100 * src + len(extra_innovations)))
    return Genome(inn, [1, 1, 2, 2, 3, 3] + [src] * len(hidden), [4, 5] * 3 + hidden,
                  np.zeros(len(inn)), np.ones(len(inn), dtype=bool))


@pytest.mark.parametrize("extra,species", [(16, 2), (20, 1)])
def test_step7_distance_normalises_only_from_twenty_genes_beyond_the_initial_ones(extra,
                                                                                  species):
    """Spec 5.2: N = max(n1, n2) if it is >= 20 + I·O (26 here), else 1.  Two genomes with
    16 unmatched genes each (22 genes): δ = 32 >= 3.  With 20 each (26 genes): δ = 40/26."""
    a = _long_genome(range(7, 7 + extra), 1)
    b = _long_genome(range(7 + extra, 7 + 2 * extra), 2)
    _, out = step(engine(config(species_threshold=3.0, **QUIET)), [a, b], [1.0, 0.0])
    assert out.species == species


def test_step7_representative_ties_go_to_the_lowest_index():
    """400 genomes, two old species: the 200 even genomes are all different and all at
    δ = 0.4·1.5/6 = 0.1 from species 1's old representative (weights 0), so the new one is
    the lowest index.  (Whether the members are gathered with a stable sort is pinned by
    tests/test_mutation_kills_evolution.py: with this alternating layout numpy's default
    sort happens to keep index 0 first.)"""
    def member(k):
        return genome([k / 256, 1.5 - k / 256, 0.0, 0.0, 0.0, 0.0])

    for first in (0, 2):
        pop = [genome(10.0) if i % 2 else member((i + first) % 400 // 2 + 1)
               for i in range(400)]
        evo = engine(config(species_threshold=0.5, max_population=400, **QUIET),
                     species=[(1, 0.0, 0, 1e9, 0), (2, 10.0, 0, 1e9, 0)])
        step(evo, pop, np.zeros(400), 3)
        assert evo.species[0].representative == pop[0]
        assert evo.species[1].representative == pop[1]


# -- step 2, section 4 and section 8 ----------------------------------------------------------

def test_step2_rho_stops_rising_at_097():
    """ρ rises only while ρ < 0.97: from exactly 0.97 it stays."""
    evo = engine(config(new_connection_assignment_rate=0.97, same_fitness_limit=1))
    assert evo.rho == 0.97                      # section 4: ρ starts at the configured rate
    assert evo.observe(np.array([1.0]))[2] is True
    for _ in range(3):
        assert evo.observe(np.array([1.0]))[2] is False
    assert evo.rho == 0.97
    evo = engine(config(new_connection_assignment_rate=0.95, same_fitness_limit=1))
    evo.observe(np.array([1.0]))
    evo.observe(np.array([1.0]))
    assert evo.rho == pytest.approx(0.98)


def test_section4_initial_weights_follow_the_documented_draws():
    """Draws of initial_population: U0[P, I·O], U[P, I·O, 3], Z[P, I·O], nothing else;
    w = U(-2, 2), then each gene mutates with u < rate: U(-5, 5) if u' < ρ, else w + z."""
    cfg = config(initial_population=5, connection_mutation_rate=0.6,
                 new_connection_assignment_rate=0.3)
    evo, pop = Evolution.start(cfg, np.random.default_rng(7))
    r = np.random.default_rng(7)
    u0, u, z = r.random((5, 6)), r.random((5, 6, 3)), r.standard_normal((5, 6))
    w0 = -2.0 + 4.0 * u0
    expected = np.where(u[..., 0] < 0.6, np.where(u[..., 1] < 0.3, -5.0 + 10.0 * u[..., 2],
                                                  w0 + z), w0)
    assert [g.weight.tolist() for g in pop] == expected.tolist()
    assert evo.rng.random() == r.random()


def _run(evo, pop, generations, k0=0, seed=1):
    rng = np.random.default_rng(seed)
    outcomes = []
    for k in range(k0, k0 + generations):
        fit = rng.random(len(pop))
        pop, out = step(evo, pop, fit, k)
        outcomes.append(out)
    return pop, outcomes


def test_section8_state_round_trip_continues_bit_for_bit():
    """Evolution.state() / from_state(): the checkpoint's engine part (spec 8), with the
    dtypes the checkpoint file stores."""
    cfg = config(species_threshold=0.8, initial_population=20, crossover_rate=0.5,
                 same_fitness_limit=1, limiting_species=3, limiting_threshold=1)
    evo, pop = Evolution.start(cfg, np.random.default_rng(3))
    empty = evo.state()
    assert empty["species"]["id"].dtype == np.int64 and empty["species"]["id"].shape == (0,)
    for column, dtype in (("founded", np.int64), ("best", np.float64),
                          ("stagnation", np.int64)):
        assert empty["species"][column].dtype == dtype
    pop, _ = _run(evo, pop, 6)
    evo.stall, evo.rho = 3, 0.55                # a stall window half way, a risen ρ
    state = evo.state()
    assert set(state) == {"best_ever", "stall", "rho", "next_species_id", "threshold",
                          "species", "registry"}
    assert set(state["species"]) == {"id", "founded", "best", "stagnation",
                                     "representatives"}
    assert type(state["best_ever"]) is float and type(state["rho"]) is float
    assert type(state["threshold"]) is float
    assert type(state["stall"]) is int and type(state["next_species_id"]) is int
    assert len(state["species"]["id"]) == len(evo.species) >= 2
    rng_copy = copy.deepcopy(evo.rng)
    clone = Evolution.from_state(cfg, rng_copy, state)
    assert [(s.id, s.founded, s.best, s.stagnation) for s in clone.species] == \
        [(s.id, s.founded, s.best, s.stagnation) for s in evo.species]
    assert all(a.representative == b.representative
               for a, b in zip(clone.species, evo.species))
    assert (clone.best_ever, clone.stall, clone.rho, clone.next_species_id,
            clone.threshold) == \
        (evo.best_ever, evo.stall, evo.rho, evo.next_species_id, evo.threshold)
    assert clone.rho != cfg.new_connection_assignment_rate    # a risen ρ is kept
    pop_a, out_a = _run(evo, pop, 3, 6)
    pop_b, out_b = _run(clone, pop, 3, 6)
    assert out_a == out_b and pop_a == pop_b


def test_step10_scores_between_twenty_and_twenty_one_are_capped():
    """b > 20 -> 20: 21 species, one with F = 1, twenty with F = 0.001 (b = 20.58)."""
    means = np.r_[1.0, np.full(20, 0.001)]
    b, q = species_quotas(means, np.ones(21, dtype=np.int64), 0.3, 1)
    assert b[0] == 20.0 and q[0] == 50 and q.dtype == np.int64


def test_step10_floor_remainders():
    """d·b/Σb = (0.75, 2.25): floors (0, 2), the one left goes to the larger remainder
    (0.75, species 1), not to the larger share; a deficit of 1 is shared too."""
    assert floor_shares(3, np.array([1.0, 3.0])).tolist() == [1, 2]
    assert floor_shares(1, np.array([1.0, 3.0])).tolist() == [0, 1]
    assert floor_shares(1, np.array([3.0, 1.0])).tolist() == [1, 0]
    assert floor_shares(0, np.array([3.0, 1.0])).tolist() == [0, 0]
