"""One generation of evolution against docs/algorithm.md (section 5, properties 12.5 to 12.16)."""
import math

import numpy as np
import pytest

from ezspark.config.training import TrainingConfig
from ezspark.engine.evolution import Evolution, Species, floor_shares, species_quotas
from ezspark.engine.operators import is_acyclic

from .genomes import initial_genome


def config(**kw):
    base = dict(gym_game_name=None, input_size=3, output_size=2, max_population=300)
    base.update(kw)
    return TrainingConfig(**base)


def start(cfg, seed=0):
    return Evolution.start(cfg, np.random.default_rng(seed))


def step(evo, pop, fitness, k):
    fitness = np.asarray(fitness, dtype=float)
    j, _, _ = evo.observe(fitness)
    return evo.reproduce(pop, fitness, k, j)


def run_generations(cfg, n, seed=0, fitness_fn=None):
    """n generations with a cheap fitness (weights of the first gene, or fitness_fn)."""
    evo, pop = start(cfg, seed)
    rng = np.random.default_rng(seed + 100)
    sizes, outcomes = [len(pop)], []
    for k in range(n):
        fit = fitness_fn(pop) if fitness_fn else rng.random(len(pop))
        pop, outcome = step(evo, pop, fit, k)
        sizes.append(len(pop))
        outcomes.append(outcome)
    return evo, pop, sizes, outcomes


class TestInitialisation:
    def test_generation_zero_has_initial_genomes(self):
        cfg = config(initial_population=37)
        evo, pop = start(cfg)
        assert len(pop) == 37
        for g in pop:
            assert list(g.innovation) == list(range(1, 7))
            assert g.enabled.all() and g.hidden_nodes(3, 2).shape[0] == 0
        assert not evo.species and evo.best_ever == -math.inf and evo.stall == 0

    def test_initial_weights_without_mutation_lie_in_minus_two_two(self):
        evo, pop = start(config(initial_population=50, connection_mutation_rate=0.0))
        w = np.concatenate([g.weight for g in pop])
        assert w.min() >= -2.0 and w.max() <= 2.0 and w.std() > 0.5

    def test_initial_weight_pass_uses_replace_rate(self):
        _, pop = start(config(initial_population=200, connection_mutation_rate=1.0,
                              new_connection_assignment_rate=1.0))
        w = np.concatenate([g.weight for g in pop])
        assert w.min() >= -5.0 and w.max() <= 5.0 and np.abs(w).max() > 4.0


class TestPopulationSize:
    def test_one_species_gives_three_children_plus_parent_plus_elite(self):
        for children, keep in [(1, 1), (2, 1), (3, 0)]:
            cfg = config(children=children, keep_parents=keep)
            evo, pop = start(cfg)
            nxt, out = step(evo, pop, np.linspace(0, 1, len(pop)), 0)
            assert out.species == 1
            assert len(nxt) == 3 * children + keep + 1

    @pytest.mark.parametrize("seed", range(4))
    def test_size_formula_and_quota_bounds(self, seed):
        cfg = config(species_threshold=1.0, crossover_rate=0.5, children=2)
        evo, pop, sizes, outcomes = run_generations(cfg, 8, seed)
        assert any(o.species > 1 for o in outcomes)
        for o, n in zip(outcomes, sizes[1:]):
            total = sum(o.quotas.values()) + o.parent_pool + o.crossover_children + 1
            assert o.size_before_cap == total and n == min(total, cfg.max_population)
            assert o.crossover_children <= o.parent_pool // 2
            assert all(2 <= q <= 100 for q in o.quotas.values())

    def test_max_population_bounds_every_generation(self):
        cfg = config(species_threshold=0.3, initial_population=40, max_population=40)
        _, _, sizes, outcomes = run_generations(cfg, 8, 1)
        assert max(sizes) <= 40
        assert any(o.size_before_cap > 40 for o in outcomes)

    def test_min_population_floor(self):
        cfg = config(min_population=60, initial_population=60)
        _, _, sizes, _ = run_generations(cfg, 6, 2)
        assert min(sizes) >= 60
        cfg_off = config(initial_population=60)
        _, _, sizes_off, _ = run_generations(cfg_off, 6, 2)
        assert min(sizes_off[1:]) < 60

    def test_elite_is_the_unchanged_champion_first(self):
        cfg = config()
        evo, pop = start(cfg)
        fit = np.arange(len(pop), dtype=float)
        fit[17] = fit[50] = 1000.0
        nxt, out = step(evo, pop, fit, 0)
        assert out.champion_index == 17
        assert nxt[0] == pop[17]

    def test_cap_keeps_champion_and_relative_order(self):
        cfg = config(max_population=5, initial_population=5)
        evo, pop = start(cfg)
        fit = np.array([1.0, 5.0, 5.0, 0.0, 2.0])
        nxt, _ = step(evo, pop.genomes() + [pop[0].copy()] * 3, np.r_[fit, [0.5] * 3], 0)
        assert nxt[0] == pop[1] and len(nxt) <= 5


class TestSpeciesScores:
    def test_worked_example_three_species(self):
        b, q = species_quotas(np.array([0.6, 0.5, 0.2]), np.array([10, 2, 1]), 0.3, 1)
        assert b == pytest.approx([0.0001, 2.6613, 0.33871], rel=1e-4)
        assert list(q) == [1, 7, 1]

    def test_single_species_gets_b_one(self):
        b, q = species_quotas(np.array([0.4]), np.array([3]), 0.3, 2)
        assert list(b) == [1.0] and list(q) == [6]

    def test_age_significance_zero_disables_the_boost(self):
        b, _ = species_quotas(np.array([0.5, 0.5]), np.array([10, 1]), 0.0, 1)
        assert list(b) == [1.0, 1.0]
        b2, _ = species_quotas(np.array([0.5, 0.5]), np.array([10, 1]), 0.3, 1)
        assert b2[1] > b2[0]

    def test_scores_are_capped_at_twenty(self):
        means = np.r_[1.0, np.zeros(40)]
        b, q = species_quotas(means, np.ones(41, dtype=int), 0.0, 1)
        assert b[0] == 20.0 and q[0] == 50

    def test_floor_shares_by_largest_remainder(self):
        extra = floor_shares(10, np.array([1.0, 1.0, 1.0]))
        assert list(extra) == [4, 3, 3]
        assert list(floor_shares(0, np.array([1.0]))) == [0]


class TestSpeciation:
    def test_higher_threshold_gives_fewer_species(self):
        counts = []
        for thr in (0.3, 1.0, 3.0):
            _, _, _, outcomes = run_generations(config(species_threshold=thr,
                                                       max_population=120), 6, 3)
            counts.append(outcomes[-1].species)
        assert counts[0] > counts[1] >= counts[2]

    def test_representative_is_refreshed_to_closest_member(self):
        cfg = config(species_threshold=100.0)
        evo, pop = start(cfg)
        step(evo, pop, np.ones(len(pop)), 0)
        assert len(evo.species) == 1
        assert evo.species[0].representative == pop[0]   # founder: distance 0
        old = evo.species[0].representative
        nxt = [g.copy() for g in pop[1:4]]
        step(evo, nxt, np.ones(3), 1)
        from ezspark.engine.operators import distance
        d = [distance(g, old, 3, 2) for g in nxt]
        assert evo.species[0].representative == nxt[int(np.argmin(d))]


def _species_population(n_species, rng, members=2):
    """Genomes in clearly separate species (threshold 0.5): weights far apart."""
    pop = []
    for s in range(n_species):
        for _ in range(members):
            pop.append(initial_genome(3, 2, np.full(6, 3.0 * s)))
    return pop


class TestStagnation:
    def _setup(self, n_species, stagnation, L=15, H=5):
        cfg = config(species_threshold=0.5, limiting_species=L, limiting_threshold=H)
        evo, _ = start(cfg)
        pop = _species_population(n_species, None)
        evo.species = [Species(id=s + 1, representative=pop[2 * s].copy(), founded=0,
                               best=100.0, stagnation=stagnation) for s in range(n_species)]
        evo.next_species_id = n_species + 1
        return evo, pop

    def test_stagnant_species_are_culled_weakest_first_keeping_ten(self):
        evo, pop = self._setup(13, 14)
        fit = np.repeat(np.arange(13, dtype=float), 2)   # species 13 holds the champion
        _, out = step(evo, pop, fit, 20)
        assert out.culled == (1, 2, 3)
        assert out.species == 10 and [s.id for s in evo.species] == list(range(4, 14))

    def test_champions_species_is_never_culled(self):
        evo, pop = self._setup(12, 14)
        fit = np.repeat(np.arange(12, dtype=float), 2)
        fit[0] = 50.0                                     # species 1 holds the champion
        _, out = step(evo, pop, fit, 20)
        assert 1 not in out.culled and len(out.culled) == 2 and out.culled == (2, 3)

    def test_ten_or_fewer_species_are_never_culled(self):
        evo, pop = self._setup(10, 30)
        _, out = step(evo, pop, np.repeat(np.arange(10.0), 2), 20)
        assert out.culled == () and out.species == 10

    def test_improvement_resets_the_counter(self):
        evo, pop = self._setup(11, 14)
        fit = np.repeat(np.arange(11, dtype=float), 2)
        fit[0] = 200.0                                   # species 1 beats its best (100)
        step(evo, pop, fit, 20)
        sp1 = next(s for s in evo.species if s.id == 1)
        assert sp1.stagnation == 0 and sp1.best == 200.0

    def test_simplification_mode_from_l_minus_h(self):
        # counters reach 10 = L - H: offspring swap add and remove; with p_add = 1 and
        # p_rem = 0, simplification mode removes a connection in every child
        cfg = config(species_threshold=0.5, limiting_species=15, limiting_threshold=5,
                     add_connection_big_specie_rate=1.0, add_connection_small_specie_rate=1.0,
                     remove_connection_rate=0.0, connection_mutation_rate=0.0,
                     add_node_specie_rate=0.0, activate_connection_rate=0.0,
                     crossover_rate=0.0)
        for stagnation, delta in ((9, -1), (8, +1)):
            evo, _ = start(cfg)
            pop = _species_population(1, None, members=4)
            for g in pop:
                g.enabled[0] = False        # room for add-connection (re-enable gene 1)
            evo.species = [Species(1, pop[0].copy(), 0, best=100.0, stagnation=stagnation)]
            nxt, out = step(evo, pop, np.zeros(4), 20)
            children = nxt[1 + out.parent_pool:]
            assert children and all(int(c.enabled.sum()) == 5 + delta for c in children)


class TestReplaceRate:
    def test_rho_rises_after_each_stall_window_and_resets(self):
        cfg = config(new_connection_assignment_rate=0.1, same_fitness_limit=10)
        evo, _ = start(cfg)
        evo.observe(np.array([1.0]))
        for _ in range(10):
            evo.observe(np.array([1.0]))
        assert evo.rho == pytest.approx(0.13)
        for _ in range(10):
            evo.observe(np.array([0.5]))
        assert evo.rho == pytest.approx(0.16)
        for _ in range(1000):
            evo.observe(np.array([0.5]))
        assert 0.97 <= evo.rho <= 1.0
        evo.observe(np.array([2.0]))
        assert evo.rho == 0.1 and evo.stall == 0

    def test_best_ever_starts_at_minus_infinity(self):
        evo, _ = start(config())
        _, _, new = evo.observe(np.array([-5.0, -3.0]))
        assert new and evo.best_ever == -3.0


class TestZeroRates:
    def test_add_node_zero_gives_no_hidden_node(self):
        cfg = config(add_node_specie_rate=0.0, species_threshold=1.0)
        _, pop, _, _ = run_generations(cfg, 10, 4)
        assert all(g.hidden_nodes(3, 2).shape[0] == 0 for g in pop)
        _, pop2, _, _ = run_generations(config(add_node_specie_rate=1.0), 5, 4)
        assert any(g.hidden_nodes(3, 2).shape[0] > 0 for g in pop2)

    def test_crossover_rate_zero_and_one(self):
        _, _, _, outs = run_generations(config(crossover_rate=0.0, species_threshold=0.5,
                                               max_population=120), 6, 5)
        assert all(o.crossover_children == 0 for o in outs)
        _, _, _, outs = run_generations(config(crossover_rate=1.0, species_threshold=0.5,
                                               max_population=120), 6, 5)
        assert all(o.crossover_children == o.parent_pool // 2 for o in outs)
        assert any(o.crossover_children > 0 for o in outs)

    def test_weight_rate_zero_keeps_created_weights(self):
        cfg = config(connection_mutation_rate=0.0, add_connection_big_specie_rate=0.0,
                     add_connection_small_specie_rate=0.0, add_node_specie_rate=0.0)
        evo, pop = start(cfg)
        initial = {tuple(g.weight) for g in pop}
        for k in range(5):
            pop, _ = step(evo, pop, np.random.default_rng(k).random(len(pop)), k)
            assert all(tuple(g.weight) in initial for g in pop)

    def test_remove_rate_zero_only_splits_disable(self):
        cfg = config(remove_connection_rate=0.0, activate_connection_rate=0.0,
                     add_node_specie_rate=0.0)
        _, pop, _, _ = run_generations(cfg, 10, 6)
        assert all(g.enabled.all() for g in pop)


class TestReproduction:
    def test_parents_come_from_the_top_share(self):
        cfg = config(species_threshold=100.0, percentage_survivors_per_specie=0.25,
                     connection_mutation_rate=0.0, add_connection_big_specie_rate=0.0,
                     add_connection_small_specie_rate=0.0, add_node_specie_rate=0.0,
                     remove_connection_rate=0.0, activate_connection_rate=0.0, children=4,
                     initial_population=8)
        evo, pop = start(cfg)
        fit = np.arange(8, dtype=float)
        nxt, out = step(evo, pop, fit, 0)
        children = nxt[2:]
        assert len(children) == 12
        assert {tuple(c.weight) for c in children} == {tuple(pop[7].weight), tuple(pop[6].weight)}

    def test_keep_parents_zero_drops_the_pool(self):
        cfg = config(keep_parents=0)
        evo, pop = start(cfg)
        nxt, out = step(evo, pop, np.linspace(0, 1, len(pop)), 0)
        assert len(nxt) == 3 + 0 + 1

    def test_big_and_small_species_use_their_own_rate(self):
        cfg = config(species_threshold=0.5, add_connection_big_specie_rate=0.0,
                     add_connection_small_specie_rate=1.0, connection_mutation_rate=0.0,
                     add_node_specie_rate=0.0, remove_connection_rate=0.0,
                     activate_connection_rate=0.0, crossover_rate=0.0, keep_parents=0,
                     percentage_survivors_per_specie=1.0)
        evo, _ = start(cfg)
        big = [initial_genome(3, 2, np.zeros(6)) for _ in range(5)]
        small = [initial_genome(3, 2, np.full(6, 5.0))]
        for g in big + small:               # give room for add-connection: split one gene
            g.enabled[0] = False
        nxt, out = step(evo, big + small, np.r_[np.zeros(5), [1.0]], 0)
        kids = nxt[1:]
        from_small = [c for c in kids if c.weight[1] == 5.0]
        from_big = [c for c in kids if c.weight[1] == 0.0]
        assert from_small and from_big
        assert all(c.enabled.all() for c in from_small)      # re-enabled its only candidate
        assert not any(c.enabled[0] for c in from_big)

    @pytest.mark.parametrize("seed", range(3))
    def test_all_genomes_stay_acyclic_and_innovations_consistent(self, seed):
        cfg = config(add_node_specie_rate=0.5, add_connection_big_specie_rate=0.6,
                     add_connection_small_specie_rate=0.6, species_threshold=1.0,
                     crossover_rate=1.0, max_population=120)
        evo, pop, _, _ = run_generations(cfg, 10, seed)
        table = {}
        for g in pop:
            assert is_acyclic(g)
            for i, a, b in zip(g.innovation.tolist(), g.src.tolist(), g.dst.tolist()):
                assert table.setdefault((a, b), i) == i
                assert evo.registry.pair(a, b) == i

    def test_same_seed_same_generation_bit_for_bit(self):
        cfg = config(species_threshold=0.8, crossover_rate=0.5)
        _, pop1, s1, _ = run_generations(cfg, 8, 11)
        _, pop2, s2, _ = run_generations(cfg, 8, 11)
        assert s1 == s2 and all(a == b for a, b in zip(pop1, pop2))
        _, pop3, _, _ = run_generations(cfg, 8, 12)
        assert not all(len(a) == len(b) and a == b for a, b in zip(pop1, pop3))
