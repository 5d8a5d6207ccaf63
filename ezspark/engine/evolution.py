"""Initialisation and one generation of NEAT evolution (docs/algorithm.md 4 and 5).

``Evolution`` owns everything that survives between generations: the innovation registry,
the species table, best_ever, the stall counter z, the replace rate ρ and the evolution
random stream.  ``Evolution.observe`` performs steps 1 and 2 of docs/algorithm.md 5.1 on the
fitness of an evaluated population, ``Evolution.reproduce`` steps 5 to 15 (one method or
function per step) and returns the next population.  Evaluation (step E) and steps 3 and 4
(storing, the final-generation test) are the trainer's.
"""
from __future__ import annotations

import math

import attrs
import numpy as np

from ezspark import _core
from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import CHILD_DRAWS, GENE_DRAWS, seqsum, weight_pass
from ezspark.engine.population import Population

__all__ = ["Evolution", "Species", "GenerationOutcome", "initial_population", "species_quotas",
           "floor_shares", "species_band", "next_threshold"]

MIN_SPECIES_KEPT = 10  # culling never leaves fewer species (docs/algorithm.md 5.1, step 9)
# target_species (docs/algorithm.md 5.1 step 7.3): the threshold is multiplied by 1 + this
# gain times the relative miss (S - target)/target, clipped to [-1, 1], per generation, and
# never falls below the floor.  A factor (not a step) suits distances of any scale, and the
# clip bounds the swing after a burst of species (docs/decisions.md)
THRESHOLD_GAIN = 0.3
THRESHOLD_FLOOR = 0.05
# and when the count at that threshold falls outside [T/2, 3T/2], step 7.1 searches this
# generation's threshold (doubling or halving, then geometric bisection): a transient such as
# the burst of species when the first structure appears is corrected at once, not over the
# ten or more generations the factor alone needs (docs/decisions.md)
THRESHOLD_TRIES = 24


@attrs.define
class Species:
    """One species: its id, representative, founding generation, best raw fitness ever
    (best_s) and stagnation counter (c_s)."""

    id: int
    representative: Genome
    founded: int
    best: float = -math.inf
    stagnation: int = 0


@attrs.frozen
class GenerationOutcome:
    """What one call of ``Evolution.reproduce`` decided, for records and tests."""

    champion_index: int          # j*, in the evaluated population
    champion_fitness: float      # n_k
    champion_species: int        # id of the species of j* (step 7)
    species: int                 # S after culling (step 9)
    culled: tuple[int, ...]      # ids of culled species
    quotas: dict                 # species id -> Q_s
    parent_pool: int             # |T|
    crossover_children: int      # X
    size_before_cap: int         # N_{k+1} before the cut of step 15
    # the species id of every genome of the evaluated population (step 7), -1 for the
    # genomes step 5 cut: what a stored population records
    genome_species: np.ndarray = attrs.field(factory=lambda: np.empty(0, np.int64), eq=False)


def species_quotas(means: np.ndarray, ages: np.ndarray, age_significance: float,
                   children: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 10: from each surviving species' mean normalised fitness and age (id order),
    its score b_s and offspring quota Q_s = children·ceil(2.5·b_s)."""
    n = means.shape[0]
    oldest = int(ages.max())
    adj = means * (1.0 + (oldest - ages) * age_significance)
    lo, hi = float(adj.min()), float(adj.max())
    scaled = (adj - lo) / (hi - lo) if hi > lo else np.zeros(n)
    avg = seqsum(scaled) / n
    if avg == 0.0:
        b = np.ones(n)
    else:
        b = scaled / avg
        b = np.where(b > 20.0, 20.0, b)
        b = np.where(b == 0.0, 0.0001, b)
    quota = np.array([children * math.ceil(2.5 * x) for x in b], dtype=np.int64)
    return b, quota


def floor_shares(deficit: int, b: np.ndarray) -> np.ndarray:
    """Step 10 floor: extra offspring per species, ``deficit`` shared in proportion to b_s
    (floors first, then one each to the largest remainders, ties to the lower id)."""
    extra = np.zeros(b.shape[0], dtype=np.int64)
    if deficit <= 0:
        return extra
    share = deficit * b / seqsum(b)
    extra += np.floor(share).astype(np.int64)
    remainder = share - extra
    left = deficit - int(extra.sum())
    for s in sorted(range(b.shape[0]), key=lambda s: (-remainder[s], s))[:left]:
        extra[s] += 1
    return extra


def initial_population(cfg, registry: InnovationRegistry, rng: np.random.Generator) -> Population:
    """Generation 0 (docs/algorithm.md 4): every genome has all initial genes, enabled, with
    weights U(-2, 2), then one weight-mutation pass with ρ = the configured rate.

    Draws (docs/algorithm.md 1.3): U0 float64[P, n] (initial weights), U float64[P, n, 3]
    (weight test, replace test, U(-5, 5) source), Z float64[P, n], n = the initial genes.
    """
    src, dst, innovation = initial_genes(cfg, registry)
    pop, n = cfg.initial_population, innovation.shape[0]
    u0 = rng.random((pop, n))
    u = rng.random((pop, n, 3))
    z = scaled_changes(rng.standard_normal((pop, n)), cfg.weight_change_scale)
    weights = weight_pass(-2.0 + 4.0 * u0, u[:, :, 0], u[:, :, 1], u[:, :, 2], z,
                          cfg.connection_mutation_rate, cfg.new_connection_assignment_rate)
    off = np.arange(pop + 1, dtype=np.int64) * n
    return Population(off, np.tile(innovation, pop), np.tile(src, pop), np.tile(dst, pop),
                      weights.reshape(-1), np.ones(pop * n, dtype=np.bool_))


def initial_genes(cfg, registry: InnovationRegistry) -> tuple[np.ndarray, ...]:
    """The genes every genome of generation 0 has, as (src, dst, innovation) in innovation
    order: input a → output b for every pair (docs/algorithm.md 4), then with
    ``initial_self_loops`` a self-loop b → b on every output, whose pairs the registry
    numbers I·O + 1 … I·O + O."""
    n_in, n_out = cfg.network_inputs, cfg.output_size
    outputs = np.arange(n_in + 1, n_in + n_out + 1, dtype=np.int32)
    src, dst = np.repeat(np.arange(1, n_in + 1, dtype=np.int32), n_out), np.tile(outputs, n_in)
    if cfg.initial_self_loops:
        src, dst = np.concatenate([src, outputs]), np.concatenate([dst, outputs])
    innovation = np.array([registry.pair(int(a), int(b)) for a, b in zip(src, dst)], dtype=np.int32)
    order = np.argsort(innovation, kind="stable")
    return src[order], dst[order], innovation[order]


@attrs.define
class Evolution:
    """The evolving state of one run between generations (docs/algorithm.md 4, 5 and 8)."""

    cfg: object
    rng: np.random.Generator
    registry: InnovationRegistry
    species: list = attrs.field(factory=list)
    best_ever: float = -math.inf
    stall: int = 0                    # z
    rho: float = attrs.field(default=None)
    next_species_id: int = 1
    # the species threshold of the next speciation: species_threshold unless target_species
    # adapts it (step 7.3), so it is run state and part of every checkpoint
    threshold: float = attrs.field(default=None)

    def __attrs_post_init__(self):
        if self.rho is None:
            self.rho = float(self.cfg.new_connection_assignment_rate)
        if self.threshold is None:
            self.threshold = float(self.cfg.species_threshold)

    @classmethod
    def start(cls, cfg, rng: np.random.Generator) -> tuple["Evolution", Population]:
        """The state before generation 0, and generation 0 itself."""
        registry = InnovationRegistry(cfg.network_inputs, cfg.output_size)
        evo = cls(cfg=cfg, rng=rng, registry=registry)
        return evo, initial_population(cfg, registry, rng)

    # -- state for checkpoints (docs/algorithm.md 8) --------------------------------------
    def state(self) -> dict:
        """Everything but the random stream and the config, as plain values and arrays."""
        sp = self.species
        return {
            "best_ever": float(self.best_ever), "stall": int(self.stall),
            "rho": float(self.rho), "next_species_id": int(self.next_species_id),
            "threshold": float(self.threshold),
            "species": {
                "id": np.array([s.id for s in sp], dtype=np.int64),
                "founded": np.array([s.founded for s in sp], dtype=np.int64),
                "best": np.array([s.best for s in sp], dtype=np.float64),
                "stagnation": np.array([s.stagnation for s in sp], dtype=np.int64),
                # genomes are values, never changed in place: the loop snapshots this after
                # every generation, and only a checkpoint written makes them a table
                "representatives": tuple(s.representative for s in sp),
            },
            "registry": self.registry.to_arrays(),
        }

    @classmethod
    def from_state(cls, cfg, rng: np.random.Generator, state: dict) -> "Evolution":
        sp = state["species"]
        species = [Species(id=int(i), representative=sp["representatives"][n],
                           founded=int(f), best=float(b), stagnation=int(c))
                   for n, (i, f, b, c) in enumerate(zip(sp["id"], sp["founded"], sp["best"],
                                                        sp["stagnation"]))]
        return cls(cfg=cfg, rng=rng, registry=InnovationRegistry.from_arrays(**state["registry"]),
                   species=species, best_ever=float(state["best_ever"]),
                   stall=int(state["stall"]), rho=float(state["rho"]),
                   next_species_id=int(state["next_species_id"]),
                   # checkpoints written before target_species existed had a fixed threshold
                   threshold=state.get("threshold"))

    # -- steps 1 and 2 -----------------------------------------------------------------------
    def observe(self, fitness: np.ndarray) -> tuple[int, float, bool]:
        """Steps 1 and 2: the champion index j*, its fitness n_k, and whether it is a new
        all-time best; updates best_ever, z and ρ."""
        j = int(np.argmax(fitness))   # lowest index of the maximum
        best = float(fitness[j])
        if best > self.best_ever:
            self.best_ever, self.stall = best, 0
            self.rho = float(self.cfg.new_connection_assignment_rate)
            return j, best, True
        self.stall += 1
        if self.stall >= self.cfg.same_fitness_limit:
            self.stall = 0
            if self.rho < 0.97:
                self.rho += 0.03
        return j, best, False

    # -- steps 5 to 15 -----------------------------------------------------------------------
    def reproduce(self, population, fitness: np.ndarray, k: int,
                  champion_index: int) -> tuple[Population, GenerationOutcome]:
        """Steps 5 to 15 of docs/algorithm.md 5.1 for generation ``k``: the next population.

        ``population`` is a Population (or a sequence of Genomes); the loops over genomes
        and genes run in the kernels of ``ezspark._core`` (speciation, mutation, crossover).
        One named step per line below, in the order of the algorithm; only steps 11 and 13
        draw from the evolution stream (docs/algorithm.md 1.3).
        """
        if not isinstance(population, Population):
            population = Population.from_genomes(population)
        fitness = np.asarray(fitness, dtype=np.float64)
        pop, fit, champ = cap_population(population, fitness, champion_index,
                                         self.cfg.max_population)                 # 5
        norm = normalise(fit)                                                     # 6
        members = self._speciate(pop, k)                                          # 7
        best_in = self._track_stagnation(members, fit, k)                         # 8
        champ_species = _species_of(members, champ)
        culled = self._cull(best_in, champ_species)                               # 9
        b, quota = self._quotas(members, norm, k)                                 # 10
        ranked = [rank_members(members[sp.id], fit) for sp in self.species]
        offspring, child_species = self._offspring(pop, ranked, quota, members)   # 11
        pool = [int(r[0]) for r, score in zip(ranked, b) if score >= 1.0]         # 12
        crossed = self._crossover_children(pop, fit, pool)                        # 13
        head = [champ] + (pool if self.cfg.keep_parents else [])                  # 14
        nxt = next_population(pop, head, crossed, offspring,
                              round_robin(quota, child_species), self.cfg.max_population)
        outcome = GenerationOutcome(
            champion_index=champion_index, champion_fitness=float(fitness[champion_index]),
            champion_species=champ_species, species=len(self.species),
            culled=tuple(sorted(culled)),
            quotas={sp.id: int(quota[s]) for s, sp in enumerate(self.species)},
            parent_pool=len(pool), crossover_children=len(crossed),
            size_before_cap=len(head) + len(crossed) + len(offspring),
            genome_species=_genome_species(
                members, kept_indices(fitness, self.cfg.max_population), fitness.shape[0]))
        return nxt, outcome

    # -- step 7 ------------------------------------------------------------------------------
    def _speciate(self, pop: Population, k: int) -> dict[int, np.ndarray]:
        """Step 7: first-fit speciation, then each species' new representative; species left
        without members are deleted.  Returns the members of every species (indices into
        ``pop``, ascending) by species id; ``self.species`` keeps id order."""
        if self.cfg.target_species is None:
            assigned, dist = self._first_fit(pop, k, self.threshold)
        else:
            assigned, dist = self._first_fit_in_band(pop, k)
        order = np.argsort(assigned, kind="stable")          # members by species, in index order
        bounds = np.searchsorted(assigned[order], np.arange(len(self.species) + 1))
        members: dict[int, np.ndarray] = {}
        alive = []
        for s, sp in enumerate(self.species):
            idx = order[bounds[s]:bounds[s + 1]]
            if idx.shape[0] == 0:
                continue
            members[sp.id] = idx
            closest = idx[int(np.argmin(dist[idx]))]         # ties: lowest index (idx sorted)
            sp.representative = pop[int(closest)]
            alive.append(sp)
        self.species = alive
        self._adapt_threshold()
        return members

    def _adapt_threshold(self) -> None:
        """Step 7.3: with target_species set, move the threshold toward the target for the
        next generation's speciation; no random draw, so the streams stay as they are."""
        target = self.cfg.target_species
        if target is None:
            return
        miss = min(1.0, (len(self.species) - target) / target)     # >= -1 already
        self.threshold = max(THRESHOLD_FLOOR, self.threshold * (1.0 + THRESHOLD_GAIN * miss))

    def _first_fit_in_band(self, pop: Population, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Step 7.1 with target_species T: first fit at θ; while the species count S lies
        outside the band (at most len(pop) at the low end), first fit again from the same
        species at a searched θ, which becomes this generation's threshold."""
        low, high = species_band(self.cfg.target_species, len(pop))
        species, next_id = list(self.species), self.next_species_id
        theta, too_low, too_high = self.threshold, None, None
        for _ in range(THRESHOLD_TRIES):
            self.species, self.next_species_id = list(species), next_id
            assigned, dist = self._first_fit(pop, k, theta)
            count = np.unique(assigned).shape[0]
            if low <= count <= high or (count < low and theta == THRESHOLD_FLOOR):
                break
            if count > high:
                too_low = theta
            else:
                too_high = theta
            theta = next_threshold(too_low, too_high)
        self.threshold = theta
        return assigned, dist

    def _first_fit(self, pop: Population, k: int,
                   theta: float) -> tuple[np.ndarray, np.ndarray]:
        """Step 7.1 in one kernel call at threshold ``theta``: each genome's species (position
        in ``self.species``, founders appended in order) and its distance to that species'
        representative."""
        n = len(pop)
        reps = Population.from_genomes([sp.representative for sp in self.species])
        # the kernel divides E and D by N for genomes of at least 20 + n_io genes (5.2); an
        # adapted threshold needs a distance without that jump, so target_species sets the
        # bound to 0 and normalises every pair (-20 + 20 = 0)
        n_io = self.cfg.network_inputs * self.cfg.output_size
        if self.cfg.target_species is not None:
            n_io = -20
        assigned = np.empty(n, dtype=np.int64)
        dist = np.empty(n, dtype=np.float64)
        founders = np.empty(n, dtype=np.int64)
        n_new = _core.speciate(pop.off, pop.innovation, pop.weight, pop.enabled.view(np.uint8),
                               reps.off, reps.innovation, reps.weight,
                               reps.enabled.view(np.uint8), float(theta),
                               n_io, assigned, dist,
                               founders)
        for f in founders[:n_new]:
            self.species.append(Species(id=self.next_species_id, representative=pop[int(f)],
                                        founded=k))
            self.next_species_id += 1
        return assigned, dist

    # -- steps 8 to 10 -----------------------------------------------------------------------
    def _track_stagnation(self, members: dict, fit: np.ndarray, k: int) -> dict[int, float]:
        """Step 8 (raw fitness only): m_s of every species by id; updates best_s and c_s."""
        best_in = {}
        for sp in self.species:
            m = float(fit[members[sp.id]].max())
            best_in[sp.id] = m
            if sp.founded == k or m > sp.best:
                sp.best, sp.stagnation = m, 0
            else:
                sp.stagnation += 1
        return best_in

    def _cull(self, best_in: dict, champ_species: int) -> set[int]:
        """Step 9: delete the stagnant species with the lowest m_s (ties: higher id first),
        keeping at least MIN_SPECIES_KEPT (with target_species, the band's low end if higher)
        and the champion's; returns the culled ids."""
        limit = self.cfg.limiting_species
        stagnant = [sp for sp in self.species
                    if sp.stagnation >= limit and sp.id != champ_species]
        keep = MIN_SPECIES_KEPT
        if self.cfg.target_species is not None:      # nor below the band of step 7.1
            keep = max(keep, species_band(self.cfg.target_species, len(self.species))[0])
        room = max(0, len(self.species) - keep)
        stagnant.sort(key=lambda sp: (best_in[sp.id], -sp.id))
        culled = {sp.id for sp in stagnant[: min(room, len(stagnant))]}
        self.species = [sp for sp in self.species if sp.id not in culled]
        return culled

    def _quotas(self, members: dict, norm: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Step 10: scores b_s and offspring quotas Q_s of the surviving species (id order),
        the floor of ``min_population`` included."""
        cfg, species = self.cfg, self.species
        sizes = np.array([members[sp.id].shape[0] for sp in species], dtype=np.int64)
        means = np.array([seqsum(norm[members[sp.id]]) / sizes[s]
                          for s, sp in enumerate(species)])
        ages = np.array([k - sp.founded + 1 for sp in species])
        b, quota = species_quotas(means, ages, cfg.age_significance, cfg.children)
        if cfg.min_population is not None:
            base = int(quota.sum()) + cfg.keep_parents * int((b >= 1.0).sum()) + 1
            quota = quota + floor_shares(cfg.min_population - base, b)
        return b, quota

    # -- step 11 -----------------------------------------------------------------------------
    def _offspring(self, pop: Population, ranked: list, quota: np.ndarray,
                   members: dict) -> tuple[Population, np.ndarray]:
        """Step 11: the mutated children of every species, in plan order, and the species
        (position in ``self.species``) of each."""
        child_parent, child_species = plan_children(ranked, quota,
                                                    self.cfg.percentage_survivors_per_specie)
        simplify, p_add = self._species_modes(members)
        offspring = self._mutate_children(pop, child_parent, simplify[child_species],
                                          p_add[child_species])
        return offspring, child_species

    def _species_modes(self, members: dict) -> tuple[np.ndarray, np.ndarray]:
        """Per surviving species: simplification mode (step 9) and the add-connection rate of
        its size class (big: at least the mean species size, step 10)."""
        cfg, species = self.cfg, self.species
        sizes = np.array([members[sp.id].shape[0] for sp in species], dtype=np.int64)
        big = sizes * len(species) >= int(sizes.sum())
        simplify = np.array([sp.stagnation >= cfg.limiting_species - cfg.limiting_threshold
                             for sp in species], dtype=bool)
        p_add = np.where(big, cfg.add_connection_big_specie_rate,
                         cfg.add_connection_small_specie_rate)
        return simplify, p_add

    def _mutate_children(self, pop: Population, child_parent: np.ndarray,
                         simplify: np.ndarray, p_add: np.ndarray) -> Population:
        """Step 11, the kernel call: one bulk draw for all children (docs/algorithm.md 1.3),
        then every child mutated (5.4) in one call of ``_core.reproduce``."""
        cfg, reg = self.cfg, self.registry
        children = child_parent.shape[0]
        genes = int(pop.gene_counts[child_parent].sum())
        gene_u = self.rng.random((genes, GENE_DRAWS))
        gene_z = scaled_changes(self.rng.standard_normal(genes), cfg.weight_change_scale)
        child_u = self.rng.random((children, CHILD_DRAWS))
        reg.ensure_capacity(3 * children, children)   # a child adds <= 3 pairs and 1 split
        out = _gene_buffers(children, genes + 3 * children)
        _core.reproduce(pop.off, pop.innovation, pop.src, pop.dst, pop.weight,
                        pop.enabled.view(np.uint8), child_parent, simplify.view(np.uint8),
                        p_add, gene_u, gene_z, child_u,
                        float(cfg.activate_connection_rate), float(cfg.connection_mutation_rate),
                        float(self.rho), float(cfg.remove_connection_rate),
                        float(cfg.add_node_specie_rate), cfg.network_inputs, cfg.output_size,
                        reg.pair_keys, reg.pair_values, reg.split_keys, reg.split_values,
                        reg.counters, *out, recurrent=bool(cfg.recurrent))
        return _population_from_buffers(out)

    # -- step 13 -----------------------------------------------------------------------------
    def _crossover_children(self, pop: Population, fit: np.ndarray,
                            pool: list[int]) -> Population:
        """Step 13: the crossover children of the shuffled parent pool, in pair order, made
        (5.5) in one call of ``_core.crossover``."""
        pairs, pair_u = self._pair_parents(pop, fit, pool)
        if not pairs:
            return Population.empty()
        out = _gene_buffers(len(pairs), sum(u.shape[0] for u in pair_u))
        _core.crossover(pop.off, pop.innovation, pop.src, pop.dst, pop.weight,
                        pop.enabled.view(np.uint8), np.array(pairs, dtype=np.int64),
                        np.concatenate(pair_u), *out)
        return _population_from_buffers(out)

    def _pair_parents(self, pop: Population, fit: np.ndarray,
                      pool: list[int]) -> tuple[list[tuple[int, int]], list[np.ndarray]]:
        """Step 13 draws: the shuffle, then per pair the crossover test and, when it fires,
        one uniform per gene of the fitter parent.  Returns (fitter, other) index pairs and
        their draws."""
        pairs, pair_u = [], []
        if len(pool) < 2:
            return pairs, pair_u
        shuffled = [pool[i] for i in self.rng.permutation(len(pool))]
        for p in range(len(pool) // 2):
            x, y = shuffled[2 * p], shuffled[2 * p + 1]
            if self.rng.random() < self.cfg.crossover_rate:
                fitter, other = (x, y) if fit[x] >= fit[y] else (y, x)
                pairs.append((fitter, other))
                pair_u.append(self.rng.random(int(pop.gene_counts[fitter])))
        return pairs, pair_u


def species_band(target: int, n: int) -> tuple[int, int]:
    """The species counts step 7.1 accepts with target_species T: ⌈T/2⌉ to ⌊3T/2⌋, the low
    end no more than the n genomes there are."""
    return min(math.ceil(target / 2), n), max(1, math.floor(1.5 * target))


def next_threshold(too_low: float | None, too_high: float | None) -> float:
    """The next θ the search of step 7.1 tries: double the last one that gave too many
    species, halve (down to the floor) the last that gave too few, and once both are known
    their geometric mean."""
    if too_high is None:
        return too_low * 2.0
    if too_low is None:
        return max(THRESHOLD_FLOOR, too_high / 2.0)
    return math.sqrt(too_low * too_high)


def cap_population(population: Population, fitness: np.ndarray, champion_index: int,
                   max_population: int) -> tuple[Population, np.ndarray, int]:
    """Step 5: the ``max_population`` fittest genomes (ties: lower index) in their order,
    their fitness, and the champion's index among them."""
    keep = kept_indices(fitness, max_population)
    if keep.shape[0] < len(population):
        population = population.take(keep)
    champ = int(np.flatnonzero(keep == champion_index)[0])
    return population, fitness[keep], champ


def kept_indices(fitness: np.ndarray, max_population: int) -> np.ndarray:
    """Step 5: the indices of the ``max_population`` fittest genomes (ties: lower index),
    in increasing order (every index when there are no more)."""
    keep = np.arange(fitness.shape[0])
    if fitness.shape[0] > max_population:
        order = np.lexsort((keep, -fitness))      # best first, ties to the lower index
        keep = np.sort(order[:max_population])
    return keep


def _genome_species(members: dict, keep: np.ndarray, n: int) -> np.ndarray:
    """The species id of each of the ``n`` genomes of the evaluated population;
    ``members`` holds indices among the ``keep`` genomes that step 5 left, the others
    get -1."""
    species = np.full(n, -1, dtype=np.int64)
    for sid, idx in members.items():
        species[keep[idx]] = sid
    return species


def scaled_changes(z: np.ndarray, scale: float) -> np.ndarray:
    """The normal weight changes of 5.4 b times ``weight_change_scale`` (extension), in place.
    The draws are the same whatever the scale; at EzSpark's 1 nothing is touched, so the
    bits are those of a build without the key."""
    if scale != 1.0:
        z *= scale
    return z


def normalise(fit: np.ndarray) -> np.ndarray:
    """Step 6: f' = (f - lo) / (hi - lo), or 0 for every genome when hi = lo."""
    lo, hi = float(fit.min()), float(fit.max())
    return (fit - lo) / (hi - lo) if hi > lo else np.zeros_like(fit)


def _species_of(members: dict, i: int) -> int:
    """Id of the species whose members include genome ``i``."""
    return next(sid for sid, idx in members.items() if np.any(idx == i))


def rank_members(idx: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Steps 11 and 12: a species' members, best first (ties: lower index first)."""
    return idx[np.lexsort((idx, -fit[idx]))]


def plan_children(ranked: list, quota: np.ndarray,
                  survivors: float) -> tuple[np.ndarray, np.ndarray]:
    """Step 11 plan, species in id order: child q of species s copies ranked member
    q mod R_s, R_s = ceil(n_s · survivors).  Returns each child's parent index and species
    position."""
    parents, species = [], []
    for s, r in enumerate(ranked):
        count = math.ceil(r.shape[0] * survivors)
        parents.append(r[np.arange(int(quota[s])) % count])
        species.append(np.full(int(quota[s]), s, dtype=np.int64))
    if not parents:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(parents), np.concatenate(species)


def round_robin(quota: np.ndarray, child_species: np.ndarray) -> np.ndarray:
    """Step 15 order of the offspring (plan order in, positions out): child 0 of every
    species in id order, then child 1 of every species that has one, and so on."""
    if quota.shape[0] == 0:
        return np.zeros(0, np.int64)
    q_index = np.concatenate([np.arange(int(q)) for q in quota])
    return np.lexsort((child_species, q_index))


def next_population(pop: Population, head: list[int], crossed: Population,
                    offspring: Population, order: np.ndarray,
                    max_population: int) -> Population:
    """Steps 14 and 15: the genomes ``head`` of ``pop`` (elite, kept parents), the
    crossover children, then the offspring in ``order``, cut to ``max_population``."""
    parts = [pop.take(head[:max_population])]
    room = max_population - len(parts[0])
    if room > 0 and len(crossed):
        parts.append(crossed if len(crossed) <= room else crossed.take(np.arange(room)))
        room -= len(parts[-1])
    if room > 0:
        parts.append(offspring.take(order[:room]))
    return Population.concat(parts)


def _gene_buffers(children: int, capacity: int) -> tuple:
    """Output arrays for a reproduction kernel: off and the five gene columns."""
    return (np.zeros(children + 1, dtype=np.int64), np.empty(capacity, dtype=np.int32),
            np.empty(capacity, dtype=np.int32), np.empty(capacity, dtype=np.int32),
            np.empty(capacity, dtype=np.float64), np.empty(capacity, dtype=np.uint8))


def _population_from_buffers(buffers) -> Population:
    off, innovation, src, dst, weight, enabled = buffers
    total = int(off[-1])
    return Population(off, innovation[:total], src[:total], dst[:total], weight[:total],
                      enabled[:total].view(np.bool_))
