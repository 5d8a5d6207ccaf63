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

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import CHILD_DRAWS, GENE_DRAWS, seqsum, weight_pass
from ezspark.engine.population import Population

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


def initial_population(cfg, registry: InnovationRegistry, rng: np.random.Generator) -> Population:
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
    off = np.arange(pop + 1, dtype=np.int64) * n
    return Population(off, np.tile(innovation, pop), np.tile(src, pop), np.tile(dst, pop),
                      weights.reshape(-1), np.ones(pop * n, dtype=np.bool_))


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
    def start(cls, cfg, rng: np.random.Generator) -> tuple["Evolution", Population]:
        """The state before generation 0, and generation 0 itself."""
        registry = InnovationRegistry(cfg.input_size, cfg.output_size)
        evo = cls(cfg=cfg, rng=rng, registry=registry)
        return evo, initial_population(cfg, registry, rng)

    # -- state for checkpoints (spec 8) --------------------------------------------------
    def state(self) -> dict:
        """Everything but the random stream and the config, as plain values and arrays."""
        sp = self.species
        return {
            "best_ever": float(self.best_ever), "stall": int(self.stall),
            "rho": float(self.rho), "next_species_id": int(self.next_species_id),
            "species": {
                "id": np.array([s.id for s in sp], dtype=np.int64),
                "founded": np.array([s.founded for s in sp], dtype=np.int64),
                "best": np.array([s.best for s in sp], dtype=np.float64),
                "stagnation": np.array([s.stagnation for s in sp], dtype=np.int64),
                "representatives": Population.from_genomes([s.representative for s in sp]),
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
                   next_species_id=int(state["next_species_id"]))

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
        """Steps 5 to 15 of spec 5.1 for generation ``k``: the next population.

        ``population`` is a Population (or a sequence of Genomes); the loops over genomes
        and genes run in the kernels of ``ezspark._core`` (speciation, mutation, crossover).
        """
        from ezspark import _core

        cfg = self.cfg
        n_in, n_out = cfg.input_size, cfg.output_size
        if not isinstance(population, Population):
            population = Population.from_genomes(population)
        fitness = np.asarray(fitness, dtype=np.float64)

        # 5. cap
        keep = np.arange(len(population))
        if len(population) > cfg.max_population:
            order = np.lexsort((keep, -fitness))      # best first, ties to the lower index
            keep = np.sort(order[: cfg.max_population])
            pop = population.take(keep)
        else:
            pop = population
        fit = fitness[keep]
        champ = int(np.flatnonzero(keep == champion_index)[0])
        n = len(pop)

        # 6. normalise
        lo, hi = float(fit.min()), float(fit.max())
        norm = (fit - lo) / (hi - lo) if hi > lo else np.zeros_like(fit)

        # 7. speciate: first fit against the representatives, in one kernel call
        reps = Population.from_genomes([sp.representative for sp in self.species])
        assigned = np.empty(n, dtype=np.int64)
        dist = np.empty(n, dtype=np.float64)
        founders = np.empty(n, dtype=np.int64)
        n_new = _core.speciate(pop.off, pop.innovation, pop.weight, pop.enabled.view(np.uint8),
                               reps.off, reps.innovation, reps.weight,
                               reps.enabled.view(np.uint8), float(cfg.species_threshold),
                               n_in * n_out, assigned, dist, founders)
        for f in founders[:n_new]:
            self.species.append(Species(id=self.next_species_id, representative=pop[int(f)],
                                        founded=k))
            self.next_species_id += 1
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
        age = {sp.id: k - sp.founded + 1 for sp in alive}
        species_of = np.empty(n, dtype=np.int64)
        for sp in alive:
            species_of[members[sp.id]] = sp.id

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
        champ_species = int(species_of[champ])
        limit, threshold = cfg.limiting_species, cfg.limiting_threshold
        stagnant = [sp for sp in alive
                    if sp.stagnation >= limit and sp.id != champ_species]
        room = max(0, len(alive) - MIN_SPECIES_KEPT)
        stagnant.sort(key=lambda sp: (best_in[sp.id], -sp.id))
        culled = {sp.id for sp in stagnant[: min(room, len(stagnant))]}
        self.species = [sp for sp in alive if sp.id not in culled]
        species = self.species

        # 10. species scores and quotas
        n_species = len(species)
        sizes = np.array([members[sp.id].shape[0] for sp in species], dtype=np.int64)
        means = np.array([seqsum(norm[members[sp.id]]) / sizes[s]
                          for s, sp in enumerate(species)])
        b, quota = species_quotas(means, np.array([age[sp.id] for sp in species]),
                                  cfg.age_significance, cfg.children)
        big = sizes * n_species >= int(sizes.sum())
        in_pool = b >= 1.0
        if cfg.min_population is not None:
            base = int(quota.sum()) + cfg.keep_parents * int(in_pool.sum()) + 1
            quota = quota + floor_shares(cfg.min_population - base, b)

        # 11. offspring: the plan, one bulk draw, one kernel call
        ranked, plan_parent, plan_species = [], [], []
        for s, sp in enumerate(species):
            idx = members[sp.id]
            r = idx[np.lexsort((idx, -fit[idx]))]            # best first, ties: lower index
            ranked.append(r)
            parents = math.ceil(idx.shape[0] * cfg.percentage_survivors_per_specie)
            plan_parent.append(r[np.arange(int(quota[s])) % parents])
            plan_species.append(np.full(int(quota[s]), s, dtype=np.int64))
        child_parent = np.concatenate(plan_parent) if plan_parent else np.zeros(0, np.int64)
        child_species = np.concatenate(plan_species) if plan_species else np.zeros(0, np.int64)
        simplify = np.array([sp.stagnation >= limit - threshold for sp in species], dtype=bool)
        p_add = np.where(big, cfg.add_connection_big_specie_rate,
                         cfg.add_connection_small_specie_rate)
        q_total = child_parent.shape[0]
        genes = int(pop.gene_counts[child_parent].sum())
        gene_u = self.rng.random((genes, GENE_DRAWS))
        gene_z = self.rng.standard_normal(genes)
        child_u = self.rng.random((q_total, CHILD_DRAWS))
        self.registry.ensure_capacity(3 * q_total, q_total)
        reg = self.registry
        out = _gene_buffers(q_total, genes + 3 * q_total)
        _core.reproduce(pop.off, pop.innovation, pop.src, pop.dst, pop.weight,
                        pop.enabled.view(np.uint8), child_parent,
                        simplify[child_species].view(np.uint8), p_add[child_species],
                        gene_u, gene_z, child_u,
                        float(cfg.activate_connection_rate), float(cfg.connection_mutation_rate),
                        float(self.rho), float(cfg.remove_connection_rate),
                        float(cfg.add_node_specie_rate), n_in, n_out,
                        reg.pair_keys, reg.pair_values, reg.split_keys, reg.split_values,
                        reg.counters, *out)
        offspring = _population_from_buffers(out)

        # 12. parent pool: the best member of every species with b >= 1
        pool = [int(ranked[s][0]) for s in range(n_species) if in_pool[s]]

        # 13. crossover
        pairs, pair_u = [], []
        if len(pool) >= 2:
            shuffled = [pool[i] for i in self.rng.permutation(len(pool))]
            for p in range(len(pool) // 2):
                x, y = shuffled[2 * p], shuffled[2 * p + 1]
                if self.rng.random() < cfg.crossover_rate:
                    fitter, other = (x, y) if fit[x] >= fit[y] else (y, x)
                    pairs.append((fitter, other))
                    pair_u.append(self.rng.random(int(pop.gene_counts[fitter])))
        if pairs:
            cross_genes = sum(u.shape[0] for u in pair_u)
            cout = _gene_buffers(len(pairs), cross_genes)
            _core.crossover(pop.off, pop.innovation, pop.src, pop.dst, pop.weight,
                            pop.enabled.view(np.uint8), np.array(pairs, dtype=np.int64),
                            np.concatenate(pair_u), *cout)
            crossed = _population_from_buffers(cout)
        else:
            crossed = Population.empty()

        # 14 and 15. elite, kept parents, crossover children, round-robin offspring, cap
        head = [champ] + (pool if cfg.keep_parents else [])
        q_index = np.concatenate([np.arange(int(q)) for q in quota]) if n_species else \
            np.zeros(0, np.int64)
        round_robin = np.lexsort((child_species, q_index))   # by q, then species id order
        size = len(head) + len(crossed) + q_total
        room_left = cfg.max_population
        parts = []
        for part, count in ((pop.take(head[:room_left]), len(head)),
                            (crossed, len(crossed)), (None, q_total)):
            if room_left <= 0:
                break
            if part is None:
                part = offspring.take(round_robin[:room_left])
            elif count > room_left:
                part = part.take(np.arange(room_left))
            parts.append(part)
            room_left -= len(part)
        nxt = Population.concat(parts)
        outcome = GenerationOutcome(
            champion_index=champion_index, champion_fitness=float(fitness[champion_index]),
            champion_species=champ_species, species=n_species, culled=tuple(sorted(culled)),
            quotas={sp.id: int(quota[s]) for s, sp in enumerate(species)},
            parent_pool=len(pool), crossover_children=len(crossed), size_before_cap=size)
        return nxt, outcome


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
