"""Initialisation and one generation of NEAT evolution (engine-spec sections 4 and 5).

``Evolution`` owns everything that survives between generations: the innovation registry,
the species table, best_ever, the stall counter z, the replace rate ρ and the evolution
random stream.  ``Evolution.step`` performs steps 1 to 15 of spec 5.1 on an evaluated
population and returns the next one.  Evaluation itself lives elsewhere.
"""
from __future__ import annotations

import math
from typing import Sequence

import attrs
import numpy as np

from ._genome import Genome
from ._innovation import InnovationRegistry
from ._operators import CHILD_DRAWS, GENE_DRAWS, crossover, distance, mutate, seqsum, weight_pass

__all__ = ["Evolution", "Species", "GenerationOutcome", "initial_population", "species_quotas",
           "floor_shares"]

MIN_SPECIES_KEPT = 10  # culling never leaves fewer species than this (spec step 9)


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
    """What one call of ``Evolution.step`` decided, for records and tests."""

    champion_index: int          # j*, in the evaluated population
    champion_fitness: float      # n_k
    champion_species: int        # id of the species of j* (step 7)
    species: int                 # S after culling (step 9)
    culled: tuple[int, ...]      # ids of culled species
    quotas: dict                 # species id -> Q_s
    parent_pool: int             # |T|
    crossover_children: int      # X
    size_before_cap: int         # N_{k+1} before the cut of step 15


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


def initial_population(cfg, registry: InnovationRegistry, rng: np.random.Generator) -> list[Genome]:
    """Generation 0 (spec section 4): every genome has all I·O initial genes, enabled,
    with weights U(-2, 2), then one weight-mutation pass with ρ = the configured rate.

    Draws: U0 float64[P, I·O] (initial weights), U float64[P, I·O, 3] (weight test,
    replace test, U(-5, 5) source), Z float64[P, I·O].
    """
    n_in, n_out, pop = cfg.input_size, cfg.output_size, cfg.initial_population
    src = np.repeat(np.arange(1, n_in + 1, dtype=np.int32), n_out)
    dst = np.tile(np.arange(n_in + 1, n_in + n_out + 1, dtype=np.int32), n_in)
    innovation = np.array([registry.pair(int(a), int(b)) for a, b in zip(src, dst)], dtype=np.int32)
    order = np.argsort(innovation, kind="stable")
    src, dst, innovation = src[order], dst[order], innovation[order]
    n = innovation.shape[0]
    u0 = rng.random((pop, n))
    u = rng.random((pop, n, 3))
    z = rng.standard_normal((pop, n))
    weights = weight_pass(-2.0 + 4.0 * u0, u[:, :, 0], u[:, :, 1], u[:, :, 2], z,
                          cfg.connection_mutation_rate, cfg.new_connection_assignment_rate)
    enabled = np.ones(n, dtype=np.bool_)
    return [Genome(innovation, src, dst, weights[i], enabled) for i in range(pop)]


@attrs.define
class Evolution:
    """The evolving state of one run between generations (spec sections 4, 5 and 8)."""

    cfg: object
    rng: np.random.Generator
    registry: InnovationRegistry
    species: list = attrs.field(factory=list)
    best_ever: float = -math.inf
    stall: int = 0                    # z
    rho: float = attrs.field(default=None)
    next_species_id: int = 1

    def __attrs_post_init__(self):
        if self.rho is None:
            self.rho = float(self.cfg.new_connection_assignment_rate)

    @classmethod
    def start(cls, cfg, rng: np.random.Generator) -> tuple["Evolution", list[Genome]]:
        """The state before generation 0, and generation 0 itself."""
        registry = InnovationRegistry(cfg.input_size, cfg.output_size)
        evo = cls(cfg=cfg, rng=rng, registry=registry)
        return evo, initial_population(cfg, registry, rng)

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
    def reproduce(self, population: Sequence[Genome], fitness: np.ndarray, k: int,
                  champion_index: int) -> tuple[list[Genome], GenerationOutcome]:
        """Steps 5 to 15 of spec 5.1 for generation ``k``: the next population."""
        cfg = self.cfg
        n_in, n_out = cfg.input_size, cfg.output_size
        fitness = np.asarray(fitness, dtype=np.float64)

        # 5. cap
        keep = np.arange(len(population))
        if len(population) > cfg.max_population:
            order = np.lexsort((keep, -fitness))      # best first, ties to the lower index
            keep = np.sort(order[: cfg.max_population])
        pop = [population[i] for i in keep]
        fit = fitness[keep]
        champ = int(np.flatnonzero(keep == champion_index)[0])
        elite = population[champion_index]

        # 6. normalise
        lo, hi = float(fit.min()), float(fit.max())
        norm = (fit - lo) / (hi - lo) if hi > lo else np.zeros_like(fit)

        # 7. speciate
        members: dict[int, list[int]] = {}
        dist_to_rep: dict[int, float] = {}
        for i, genome in enumerate(pop):
            for sp in self.species:
                d = distance(genome, sp.representative, n_in, n_out)
                if d < cfg.species_threshold:
                    members.setdefault(sp.id, []).append(i)
                    dist_to_rep[i] = d
                    break
            else:
                sp = Species(id=self.next_species_id, representative=genome.copy(), founded=k)
                self.next_species_id += 1
                self.species.append(sp)
                members[sp.id] = [i]
                dist_to_rep[i] = 0.0
        alive = []
        for sp in self.species:
            idx = members.get(sp.id)
            if not idx:
                continue
            closest = min(idx, key=lambda i: (dist_to_rep[i], i))
            sp.representative = pop[closest].copy()
            alive.append(sp)
        self.species = alive
        age = {sp.id: k - sp.founded + 1 for sp in alive}

        # 8. stagnation (raw fitness only)
        best_in = {}
        for sp in alive:
            m = float(fit[members[sp.id]].max())
            best_in[sp.id] = m
            if sp.founded == k:
                sp.best, sp.stagnation = m, 0
            elif m > sp.best:
                sp.best, sp.stagnation = m, 0
            else:
                sp.stagnation += 1

        # 9. cull
        champ_species = next(sp.id for sp in alive if champ in members[sp.id])
        limit, threshold = cfg.limiting_species, cfg.limiting_threshold
        stagnant = [sp for sp in alive
                    if sp.stagnation >= limit and sp.id != champ_species]
        room = max(0, len(alive) - MIN_SPECIES_KEPT)
        stagnant.sort(key=lambda sp: (best_in[sp.id], -sp.id))
        culled = {sp.id for sp in stagnant[: min(room, len(stagnant))]}
        self.species = [sp for sp in alive if sp.id not in culled]
        species = self.species
        simplify = {sp.id: sp.stagnation >= limit - threshold for sp in species}

        # 10. species scores and quotas
        n_species = len(species)
        sizes = np.array([len(members[sp.id]) for sp in species], dtype=np.int64)
        means = np.array([seqsum(norm[members[sp.id]]) / sizes[s]
                          for s, sp in enumerate(species)])
        b, quota = species_quotas(means, np.array([age[sp.id] for sp in species]),
                                  cfg.age_significance, cfg.children)
        total = int(sizes.sum())
        big = sizes * n_species >= total
        in_pool = b >= 1.0
        pool_size = int(in_pool.sum())
        if cfg.min_population is not None:
            base = int(quota.sum()) + cfg.keep_parents * pool_size + 1
            quota = quota + floor_shares(cfg.min_population - base, b)

        # 11. offspring: one bulk draw for every child of the generation
        ranked = {}
        plan = []   # (species position, parent index in pop)
        for s, sp in enumerate(species):
            idx = members[sp.id]
            ranked[sp.id] = sorted(idx, key=lambda i: (-fit[i], i))
            parents = math.ceil(len(idx) * cfg.percentage_survivors_per_specie)
            for q in range(int(quota[s])):
                plan.append((s, ranked[sp.id][q % parents]))
        gene_counts = np.array([len(pop[p]) for _, p in plan], dtype=np.int64)
        gene_u = self.rng.random((int(gene_counts.sum()), GENE_DRAWS))
        gene_z = self.rng.standard_normal(int(gene_counts.sum()))
        child_u = self.rng.random((len(plan), CHILD_DRAWS))
        offsets = np.concatenate(([0], np.cumsum(gene_counts)))
        offspring: list[list[Genome]] = [[] for _ in species]
        for c, (s, parent) in enumerate(plan):
            sp = species[s]
            lo_, hi_ = offsets[c], offsets[c + 1]
            p_add = (cfg.add_connection_big_specie_rate if big[s]
                     else cfg.add_connection_small_specie_rate)
            child = mutate(pop[parent], gene_u[lo_:hi_], gene_z[lo_:hi_], child_u[c],
                           activate_rate=cfg.activate_connection_rate,
                           weight_rate=cfg.connection_mutation_rate, rho=self.rho,
                           p_add=p_add, p_rem=cfg.remove_connection_rate,
                           add_node_rate=cfg.add_node_specie_rate,
                           simplify=simplify[sp.id], registry=self.registry)
            offspring[s].append(child)

        # 12. parent pool
        pool = [ranked[sp.id][0] for s, sp in enumerate(species) if in_pool[s]]

        # 13. crossover
        crossed: list[Genome] = []
        if len(pool) >= 2:
            shuffled = [pool[i] for i in self.rng.permutation(len(pool))]
            for p in range(len(pool) // 2):
                x, y = shuffled[2 * p], shuffled[2 * p + 1]
                if self.rng.random() < cfg.crossover_rate:
                    fitter = x if fit[x] >= fit[y] else y
                    u = self.rng.random(len(pop[fitter]))
                    crossed.append(crossover(pop[x], float(fit[x]), pop[y], float(fit[y]), u))

        # 14 and 15. elite, kept parents, crossover children, round-robin offspring, cap
        nxt = [elite.copy()]
        if cfg.keep_parents:
            nxt.extend(pop[i].copy() for i in pool)
        nxt.extend(crossed)
        for q in range(max((len(o) for o in offspring), default=0)):
            nxt.extend(o[q] for o in offspring if q < len(o))
        size = len(nxt)
        del nxt[cfg.max_population:]
        outcome = GenerationOutcome(
            champion_index=champion_index, champion_fitness=float(fitness[champion_index]),
            champion_species=champ_species,
            species=n_species, culled=tuple(sorted(culled)),
            quotas={sp.id: int(quota[s]) for s, sp in enumerate(species)},
            parent_pool=len(pool), crossover_children=len(crossed), size_before_cap=size)
        return nxt, outcome
