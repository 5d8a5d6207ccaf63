"""Tests written for mutants that survived mutation testing of the operators, the numpy
twins and the evaluation loop (docs/testing.md, "Mutation testing").  Each names the rule
it pins; the engine's own rules are in tests/test_generation_rules.py."""
from __future__ import annotations

import numpy as np
import pytest

from ezspark.config.training import TrainingConfig
from ezspark.engine.genome import Genome
from ezspark.engine.operators import distance, is_acyclic
from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.envs import inspect_env
from ezspark.evaluation.local import EnvEvaluator
from ezspark.engine.innovation import InnovationRegistry
from ezspark.network.programs import compile_programs

from .envs_for_tests import register_all
from .genomes import grown_genome

register_all()


def _genomes(n, seed=0):
    rng = np.random.default_rng(seed)
    reg = InnovationRegistry(2, 2)
    return [grown_genome(rng, reg, 6) for _ in range(n)]


# -- evaluation loop ------------------------------------------------------------------------------

@pytest.mark.parametrize("sub_games,max_rows", [(1, 512), (2, 512), (3, 2), (2, 1)])
def test_progress_counts_each_genome_once_when_all_its_copies_are_done(sub_games, max_rows):
    info = inspect_env("ezspark_tests/SeedLog-v0", 2, 2)
    ev = EnvEvaluator(info, games=3, max_steps=50, sub_games=sub_games, minimum_reward=-10.0,
                      max_rows=max_rows)
    calls = []
    result = ev.evaluate(compile_programs(_genomes(5), 2, 2), seed=1, generation=0,
                         progress=calls.append)
    assert calls == [1, 2, 3, 4, 5]
    assert result.fitness.shape == (5,) and np.isfinite(result.fitness).all()


def test_from_config_passes_extra_options():
    cfg = TrainingConfig(gym_game_name="ezspark_tests/SeedLog-v0", input_size=2, output_size=2,
                         max_number_of_games=4, max_number_of_steps=9, sub_games=2,
                         minimum_reward=-3.0)
    ev = EnvEvaluator.from_config(cfg, inspect_env(cfg.gym_game_name, 2, 2), max_rows=3)
    assert (ev.games, ev.max_steps, ev.sub_games, ev.minimum_reward, ev.max_rows) == \
        (4, 9, 2, -3.0, 3)


def test_an_exception_in_step_is_reported_with_its_type_and_message():
    info = inspect_env("ezspark_tests/Raising-v0", 2, 2)
    ev = EnvEvaluator(info, games=1, max_steps=5, sub_games=1, minimum_reward=0.0)
    with pytest.raises(EvaluationError, match=r"raised in step\(\): RuntimeError: simulator "
                                              r"exploded \(generation 4, genome 0, game 0\)"):
        ev.evaluate(compile_programs(_genomes(1), 2, 2), seed=0, generation=4)


# -- operators ------------------------------------------------------------------------------------

def _one_gene(innovation=1):
    return Genome([innovation], [1], [3], [0.5], [True])


def _empty():
    return Genome([], [], [], [], [])


def test_distance_to_an_empty_genome_counts_every_gene():
    """δ(g, ∅): every gene of g is excess (N = 1 below 20 + I·O genes)."""
    assert distance(_one_gene(), _empty(), 2, 1) == 1.0
    assert distance(_empty(), _one_gene(), 2, 1) == 1.0
    assert distance(_empty(), _empty(), 2, 1) == 0.0


def test_is_acyclic_detects_a_cycle():
    cyclic = Genome([1, 2, 3], [1, 4, 5], [4, 5, 4], [1.0, 1.0, 1.0], [True, True, False])
    assert not is_acyclic(cyclic)
    assert is_acyclic(Genome([1, 2], [1, 4], [4, 3], [1.0, 1.0], [True, True]))


# -- the distance kernel (both implementations) ----------------------------------------------------

def _tables():
    from ezspark.engine.population import Population

    pop = Population.from_genomes(_genomes(3))
    return pop.off, pop.innovation, pop.weight, pop.enabled.view(np.uint8)


def test_distance_pairs_refuses_a_read_only_output(kernels):
    t = _tables()
    out = np.zeros(2)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only|buffer source array is read-only"):
        kernels.distance_pairs(*t, *t, np.array([0, 1]), np.array([1, 2]), 4, out)


def test_distance_pairs_refuses_an_index_one_past_the_end(kernels):
    t = _tables()
    out = np.zeros(2)
    with pytest.raises(ValueError, match=r"ia\[1\] = 3 is not a genome index of table A"):
        kernels.distance_pairs(*t, *t, np.array([0, 3]), np.array([1, 2]), 4, out)
    with pytest.raises(ValueError, match=r"ib\[0\] = 3 is not a genome index of table B"):
        kernels.distance_pairs(*t, *t, np.array([0, 1]), np.array([3, 2]), 4, out)


def test_with_probability_p_means_a_draw_below_p():
    """algorithm.md 1.2: a test passes when u < p, so u == p fails (weights, enabling,
    structural tests, add-node)."""
    from ezspark.engine.operators import mutate, seqsum, weight_pass

    w = np.array([1.0, 1.0])
    out = weight_pass(w, np.array([0.5, 0.25]), np.array([0.5, 0.5]), np.array([0.9, 0.9]),
                      np.array([2.0, 2.0]), 0.5, 0.5)
    assert out.tolist() == [1.0, 3.0]          # gene 0: u == rate; gene 1: u' == ρ
    reg = InnovationRegistry(2, 1)
    parent = Genome([1, 2], [1, 2], [3, 3], [1.0, 1.0], [False, True])
    gene_u = np.array([[0.25, 0.9, 0.9, 0.9], [0.9, 0.9, 0.9, 0.9]])
    child = mutate(parent, gene_u, np.zeros(2), np.array([0.5, 0.5, 0.0, 0.5, 0.5, 0.0]),
                   activate_rate=0.25, weight_rate=0.0, rho=0.0, p_add=0.5, p_rem=0.5,
                   add_node_rate=0.5, simplify=False, registry=reg)
    assert child == parent
    assert seqsum(np.zeros(0)) == 0.0


@pytest.mark.parametrize("bad", ["gene_u", "gene_z", "child_u"])
def test_mutate_refuses_each_wrong_draw_shape(bad):
    from ezspark.engine.operators import mutate

    draws = {"gene_u": np.zeros((2, 4)), "gene_z": np.zeros(2), "child_u": np.zeros(6)}
    draws[bad] = np.zeros(7)
    with pytest.raises(ValueError, match="mutation draws"):
        mutate(Genome([1, 2], [1, 2], [3, 3], [1.0, 1.0], [True, True]), draws["gene_u"],
               draws["gene_z"], draws["child_u"], activate_rate=0, weight_rate=0, rho=0,
               p_add=0, p_rem=0, add_node_rate=0, simplify=False,
               registry=InnovationRegistry(2, 1))
