"""Genome -> network programs (``ezspark.network.programs``) and activation through ``Programs``."""
from __future__ import annotations

import pickle

import attrs
import numpy as np
import pytest

from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.network.programs import Programs, compile_csr, compile_program_arrays, compile_programs

from .genomes import grown_genome
from .naive import NaiveNetwork, random_general_network, random_genome

SIGMA_OF_BIAS = 1.0 / (1.0 + np.exp(-4.9))     # an output with no enabled input


def sigma(x):
    return 1.0 / (1.0 + np.exp(-4.9 * x))


def genome(genes):
    """Genome from (innovation, src, dst, weight, enabled) tuples."""
    innovation, src, dst, weight, enabled = zip(*genes) if genes else ([],) * 5
    return Genome(innovation, src, dst, weight, enabled)


def naive_outputs(genomes, X, n_inputs, n_outputs):
    return np.array([[NaiveNetwork.from_genome(g, n_inputs, n_outputs).activate(x) for x in X]
                     for g in genomes])


class TestCompilePrograms:
    @pytest.mark.parametrize("seed", range(15))
    def test_outputs_match_naive_network_on_random_genomes(self, kernels, seed):
        rng = np.random.default_rng(seed)
        I, O = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        genomes = [random_genome(rng, I, O) for _ in range(20)]
        X = rng.normal(0.0, 2.0, (6, I))
        out = compile_programs(genomes, I, O).activate(X, kernels=kernels)
        np.testing.assert_allclose(out, naive_outputs(genomes, X, I, O), rtol=1e-12, atol=0)

    @pytest.mark.parametrize("seed", range(4))
    def test_outputs_match_naive_network_on_genomes_grown_by_the_operators(self, kernels, seed):
        rng = np.random.default_rng(seed)
        registry = InnovationRegistry(3, 2)
        genomes = [grown_genome(rng, registry, steps=30) for _ in range(10)]
        X = rng.normal(0.0, 1.0, (5, 3))
        out = compile_programs(genomes, 3, 2).activate(X, kernels=kernels)
        np.testing.assert_allclose(out, naive_outputs(genomes, X, 3, 2), rtol=1e-12, atol=0)

    def test_disabled_genes_are_ignored(self, kernels):
        with_disabled = genome([(1, 1, 3, 0.7, True), (2, 2, 3, 5.0, False),
                                (3, 1, 4, -0.4, False), (4, 2, 4, 1.3, True)])
        without = genome([(1, 1, 3, 0.7, True), (4, 2, 4, 1.3, True)])
        X = np.array([[0.5, -1.0], [2.0, 3.0]])
        a = compile_programs([with_disabled], 2, 2).activate(X, kernels=kernels)
        b = compile_programs([without], 2, 2).activate(X, kernels=kernels)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a[0, :, 0], sigma(0.7 * X[:, 0] + 1.0), rtol=1e-13)

    def test_hidden_node_without_enabled_inputs_outputs_one_half(self, kernels):
        g = genome([(1, 1, 3, 9.0, False), (2, 1, 4, 9.0, False), (3, 4, 3, 0.8, True)])
        out = compile_programs([g], 2, 1).activate(np.array([[1.0, 1.0]]), kernels=kernels)
        assert out[0, 0, 0] == pytest.approx(sigma(0.8 * 0.5 + 1.0), rel=1e-14)

    def test_output_without_inputs_gives_sigma_of_its_bias(self, kernels):
        programs = compile_programs([genome([]), genome([(1, 1, 3, 2.0, True)])], 2, 2)
        out = programs.activate(np.array([[1.0, 2.0], [0.0, 0.0]]), kernels=kernels)
        np.testing.assert_array_equal(out[0], SIGMA_OF_BIAS)
        np.testing.assert_array_equal(out[1, :, 1], SIGMA_OF_BIAS)
        assert out[1, 0, 0] == pytest.approx(sigma(3.0), rel=1e-14)

    @pytest.mark.parametrize("seed", range(3))
    def test_bias_and_slope_arguments_replace_ezspark_constants(self, kernels, seed):
        rng = np.random.default_rng(seed)
        genomes = [random_genome(rng, 3, 2) for _ in range(10)]
        X = rng.normal(0.0, 1.0, (4, 3))
        out = compile_programs(genomes, 3, 2, hidden_bias=-0.6, output_bias=0.25,
                               slope=2.0).activate(X, kernels=kernels)
        expected = [[NaiveNetwork.from_genome(g, 3, 2, hidden_bias=-0.6, output_bias=0.25,
                                              slope=2.0).activate(x) for x in X]
                    for g in genomes]
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)

    def test_inputs_are_summed_in_increasing_innovation_order(self, kernels):
        # innovation order 1e16 + (-1e16) + 1 = 1; source order (1e16 + 1) - 1e16 = 0
        g = genome([(1, 1, 4, 1.0, True), (2, 3, 4, 1.0, True), (3, 2, 4, 1.0, True)])
        programs = compile_programs([g], 3, 1)
        out = programs.activate(np.array([[1e16, 1.0, -1e16]]), kernels=kernels)
        assert out[0, 0, 0] == sigma(1.0 + 1.0)
        assert programs.in_src.tolist() == [0, 2, 1]

    def test_huge_negative_sum_gives_zero_without_warnings(self, kernels):
        g = genome([(1, 1, 3, -1e300, True), (2, 1, 4, -1e300, True), (3, 4, 3, 1.0, True)])
        programs = compile_programs([g], 2, 1)
        out = programs.activate(np.array([[1e10, 0.0]]), kernels=kernels)   # -run with -W error
        assert out[0, 0, 0] == 0.0

    def test_nodes_that_reach_no_output_are_pruned_without_changing_outputs(self, kernels):
        core = [(1, 1, 5, 1.5, True), (2, 5, 3, -2.0, True), (3, 2, 4, 0.5, True)]
        dangling = [(4, 1, 6, 3.0, True), (5, 6, 7, 1.0, True), (6, 2, 7, 1.0, True),
                    (7, 7, 3, 1.0, False)]
        full = compile_programs([genome(core + dangling)], 2, 2)
        trimmed = compile_programs([genome(core)], 2, 2)
        assert sorted(full.node_id.tolist()) == [3, 4, 5]
        X = np.random.default_rng(0).normal(size=(5, 2))
        np.testing.assert_array_equal(full.activate(X, kernels=kernels),
                                      trimmed.activate(X, kernels=kernels))

    def test_program_orders_nodes_topologically_whatever_their_ids(self):
        # hidden 9 feeds hidden 6 feeds hidden 8 feeds output 3
        g = genome([(1, 1, 9, 1.0, True), (2, 9, 6, 1.0, True), (3, 6, 8, 1.0, True),
                    (4, 8, 3, 1.0, True), (5, 2, 3, 1.0, True)])
        programs = compile_programs([g], 2, 1)
        assert programs.node_id.tolist() == [9, 6, 8, 3]

    def test_a_cycle_raises_value_error(self):
        g = genome([(1, 1, 4, 1.0, True), (2, 4, 5, 1.0, True), (3, 5, 4, 1.0, True),
                    (4, 5, 3, 1.0, True)])
        with pytest.raises(ValueError, match="cycle"):
            compile_programs([g], 2, 1)

    def test_a_gene_into_an_input_raises_value_error(self):
        with pytest.raises(ValueError, match="targets input node 2"):
            compile_programs([genome([(1, 1, 2, 1.0, True)])], 2, 1)

    def test_population_columns_compile_like_genome_objects(self):
        rng = np.random.default_rng(3)
        genomes = [random_genome(rng, 3, 2) for _ in range(10)]
        conn_off = np.concatenate([[0], np.cumsum([len(g) for g in genomes])])
        cat = lambda f: np.concatenate([getattr(g, f) for g in genomes])
        assert compile_csr(conn_off, cat("src"), cat("dst"), cat("weight"), cat("enabled"),
                           3, 2) == compile_programs(genomes, 3, 2)

    def test_no_genomes_gives_empty_programs(self, kernels):
        programs = compile_programs([], 2, 1)
        assert len(programs) == 0
        assert programs.activate(np.zeros((3, 2)), kernels=kernels).shape == (0, 3, 1)


class TestPrograms:
    @pytest.fixture
    def population(self):
        rng = np.random.default_rng(11)
        genomes = [random_genome(rng, 4, 3) for _ in range(30)]
        return genomes, compile_programs(genomes, 4, 3), rng.normal(0.0, 1.5, (200, 4))

    def test_activate_rows_equals_activate_for_each_rows_genome(self, kernels, population):
        genomes, programs, X = population
        row_genome = np.random.default_rng(1).integers(0, len(genomes), X.shape[0])
        rows = programs.activate_rows(row_genome, X, kernels=kernels)
        full = programs.activate(X, kernels=kernels)
        np.testing.assert_array_equal(rows, full[row_genome, np.arange(X.shape[0])])

    def test_act_rows_is_lowest_index_argmax_of_the_outputs(self, kernels, population):
        genomes, programs, X = population
        row_genome = np.arange(X.shape[0]) % len(genomes)
        act = programs.act_rows(row_genome, X, kernels=kernels)
        assert act.dtype == np.int64
        outputs = programs.activate_rows(row_genome, X, kernels=kernels)
        np.testing.assert_array_equal(act, np.argmax(outputs, axis=1))
        tied = compile_programs([genome([])], 4, 3)   # all outputs equal sigma(4.9)
        assert tied.act_rows([0, 0], X[:2], kernels=kernels).tolist() == [0, 0]

    def test_out_arrays_are_filled_and_returned(self, kernels, population):
        genomes, programs, X = population
        row_genome = np.zeros(X.shape[0], dtype=np.intp)
        out = np.full((X.shape[0], 3), np.nan)
        assert programs.activate_rows(row_genome, X, out=out, kernels=kernels) is out
        np.testing.assert_array_equal(out, programs.activate_rows(row_genome, X, kernels=kernels))
        act = np.full(X.shape[0], -1, dtype=np.int64)
        assert programs.act_rows(row_genome, X, out=act, kernels=kernels) is act
        np.testing.assert_array_equal(act, np.argmax(out, axis=1))
        full = np.full((30, 4, 3), np.nan)
        assert programs.activate(X[:4], out=full, kernels=kernels) is full
        assert not np.isnan(full).any()

    def test_observations_of_other_real_dtypes_are_converted(self, kernels, population):
        genomes, programs, X = population
        X32 = X[:5].astype(np.float32)
        np.testing.assert_array_equal(programs.activate(X32, kernels=kernels),
                                      programs.activate(X32.astype(np.float64), kernels=kernels))

    def test_wrong_column_count_raises_value_error_naming_both(self, population):
        genomes, programs, X = population
        with pytest.raises(ValueError, match=r"\(rows, 4\) for 4 inputs, got shape 5x3"):
            programs.activate(np.zeros((5, 3)))
        with pytest.raises(ValueError, match=r"\(rows, 4\) for 4 inputs, got shape 4"):
            programs.act_rows([0], np.zeros(4))

    def test_bad_row_genome_raises_value_error(self, population):
        genomes, programs, X = population
        with pytest.raises(ValueError, match=r"one entry per row of X \(3\), got shape \(2,\)"):
            programs.activate_rows([0, 1], X[:3])
        with pytest.raises(ValueError, match="integers"):
            programs.act_rows(np.zeros(3), X[:3])
        with pytest.raises(ValueError, match=r"row_genome\[1\] = 30 .* 30 programs"):
            programs.act_rows([0, 30, 1], X[:3])

    def test_wrong_out_array_raises_value_error(self, population):
        genomes, programs, X = population
        with pytest.raises(ValueError, match=r"float64 array of shape \(3, 3\), got float64 "
                                             r"array of shape \(3, 2\)"):
            programs.activate_rows([0, 1, 2], X[:3], out=np.zeros((3, 2)))
        with pytest.raises(ValueError, match=r"int64 array of shape \(3,\), got int32"):
            programs.act_rows([0, 1, 2], X[:3], out=np.zeros(3, dtype=np.int32))

    def test_arrays_are_read_only(self, population):
        genomes, programs, X = population
        for field in attrs.fields(Programs):
            value = getattr(programs, field.name)
            if isinstance(value, np.ndarray):
                assert not value.flags.writeable, field.name
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            programs.slope = 5.0

    def test_pickle_round_trip_gives_equal_read_only_programs(self, kernels, population):
        genomes, programs, X = population
        copy = pickle.loads(pickle.dumps(programs))
        assert copy == programs
        assert not copy.in_w.flags.writeable
        np.testing.assert_array_equal(copy.activate(X, kernels=kernels),
                                      programs.activate(X, kernels=kernels))

    def test_subset_equals_compiling_the_selected_genomes(self, population):
        genomes, programs, X = population
        picks = [7, 0, 7, 29, 12]
        assert programs.subset(picks) == compile_programs([genomes[i] for i in picks], 4, 3)
        assert len(programs.subset([])) == 0

    def test_concat_equals_compiling_all_genomes(self, population):
        genomes, programs, X = population
        parts = [compile_programs(genomes[:11], 4, 3), compile_programs(genomes[11:], 4, 3)]
        assert Programs.concat(parts) == programs

    def test_equal_compilations_compare_equal_and_weights_matter(self, population):
        genomes, programs, X = population
        assert compile_programs(genomes, 4, 3) == programs
        changed = [g.copy() for g in genomes]
        changed[3].weight[:] += 1.0
        assert len(changed[3]) == 0 or compile_programs(changed, 4, 3) != programs

    def test_constructor_rejects_a_source_slot_that_is_not_computed_yet(self):
        good = compile_programs([genome([(1, 1, 4, 1.0, True), (2, 4, 3, 1.0, True)])], 2, 1)
        fields = {f.name: getattr(good, f.name) for f in attrs.fields(Programs) if f.init}
        assert good.in_src.tolist() == [0, 2]
        with pytest.raises(ValueError, match="in_src"):
            Programs(**dict(fields, in_src=np.array([3, 2], dtype=np.int32)))
        with pytest.raises(ValueError, match="out_slot"):
            Programs(**dict(fields, out_slot=np.array([4], dtype=np.int32)))
        with pytest.raises(ValueError, match="node_off"):
            Programs(**dict(fields, node_off=np.array([0, 1], dtype=np.int64)))


class TestNetwork:
    """``Programs.network(g)``: the single-row fast path, same bits as the batched kernels."""

    @pytest.fixture
    def population(self):
        rng = np.random.default_rng(12)
        genomes = [random_genome(rng, 4, 3) for _ in range(12)]
        return genomes, compile_programs(genomes, 4, 3), rng.normal(0.0, 1.5, (20, 4))

    def test_equals_activate_rows_bit_for_bit(self, kernels, population):
        genomes, programs, X = population
        for g in range(len(genomes)):
            net = programs.network(g, kernels=kernels)
            rows = programs.activate_rows(np.full(X.shape[0], g), X, kernels=kernels)
            acts = programs.act_rows(np.full(X.shape[0], g), X, kernels=kernels)
            for r in range(X.shape[0]):
                np.testing.assert_array_equal(net.activate(X[r]), rows[r])
                np.testing.assert_array_equal(net.activate(X[r].tolist()), rows[r])
                assert net.act(tuple(X[r])) == acts[r]

    def test_is_built_once_per_program_and_accepts_negative_indices(self, population):
        genomes, programs, X = population
        assert programs.network(3) is programs.network(3)
        assert programs.network(-1) is programs.network(len(genomes) - 1)
        with pytest.raises(ValueError, match="not a program index"):
            programs.network(len(genomes))

    def test_one_program_one_row_activate_takes_the_fast_path_with_the_same_bits(
            self, kernels, population):
        genomes, programs, X = population
        one = programs.subset([5])
        batch = one.activate(X, kernels=kernels)
        for r in range(X.shape[0]):
            for row in (X[r:r + 1], X[r:r + 1].astype(np.float32).astype(np.float64)):
                np.testing.assert_array_equal(one.activate(row, kernels=kernels),
                                              one.activate(np.repeat(row, 2, 0),
                                                           kernels=kernels)[:, :1])
            np.testing.assert_array_equal(one.activate(X[r:r + 1], kernels=kernels),
                                          batch[:, r:r + 1])
        out = np.full((1, 1, 3), np.nan)
        assert one.activate(X[:1], out=out, kernels=kernels) is out
        np.testing.assert_array_equal(out, batch[:, :1])
        with pytest.raises(ValueError, match="float64 array of shape"):
            one.activate(X[:1], out=np.zeros((1, 3)))

    def test_one_program_one_row_activate_rows_and_act_rows_give_the_same_bits(
            self, kernels, population):
        genomes, programs, X = population
        one = programs.subset([4])
        rows = one.activate_rows(np.zeros(X.shape[0], np.int64), X, kernels=kernels)
        acts = one.act_rows(np.zeros(X.shape[0], np.int64), X, kernels=kernels)
        for r in range(X.shape[0]):
            np.testing.assert_array_equal(
                one.activate_rows(np.zeros(1, np.intp), X[r:r + 1], kernels=kernels), rows[r:r + 1])
            np.testing.assert_array_equal(one.activate_rows([0], X[r:r + 1].tolist(),
                                                            kernels=kernels), rows[r:r + 1])
            act = one.act_rows([0], X[r:r + 1], kernels=kernels)
            assert act.dtype == np.int64 and act.tolist() == [acts[r]]
        np.testing.assert_array_equal(one.activate([X[0].tolist()], kernels=kernels)[0],
                                      rows[:1])
        for bad in (1, -1):
            with pytest.raises(ValueError, match=rf"row_genome\[0\] = {bad} .* 1 programs"):
                one.act_rows([bad], X[:1], kernels=kernels)
            with pytest.raises(ValueError, match=rf"row_genome\[0\] = {bad} .* 1 programs"):
                one.activate_rows([bad], X[:1], kernels=kernels)

    def test_pickled_programs_rebuild_their_networks(self, population):
        genomes, programs, X = population
        programs.network(2)
        copy = pickle.loads(pickle.dumps(programs))
        np.testing.assert_array_equal(copy.network(2).activate(X[0]),
                                      programs.network(2).activate(X[0]))


class TestCompileProgramArrays:
    def test_explicit_bias_and_slope_give_neat_python_formula(self, kernels):
        # output 0 = sigmoid(5 (b0 + w x)), output 1 = sigmoid(5 (b1 + v h)), h from input -2
        b0, b1, bh, w, v, u = 0.3, -0.7, 1.1, 0.9, -1.4, 0.6
        programs = compile_program_arrays(
            [0, 3], src=[-1, 17, -2], dst=[0, 1, 17], weight=[w, v, u],
            input_ids=[-1, -2], output_ids=[0, 1], node_off=[0, 3], node_id=[0, 1, 17],
            node_bias=[b0, b1, bh], slope=5.0)
        x = np.array([[0.4, -1.2]])
        out = programs.activate(x, kernels=kernels)[0, 0]
        h = 1.0 / (1.0 + np.exp(-5.0 * (bh + u * x[0, 1])))
        np.testing.assert_allclose(out, [1.0 / (1.0 + np.exp(-5.0 * (b0 + w * x[0, 0]))),
                                         1.0 / (1.0 + np.exp(-5.0 * (b1 + v * h)))],
                                   rtol=1e-14)

    @pytest.mark.parametrize("seed", range(10))
    def test_random_networks_with_per_node_biases_match_naive(self, kernels, seed):
        rng = np.random.default_rng(seed)
        I, O = 3, 2
        nets = [random_general_network(rng, I, O) for _ in range(8)]
        conn_off = np.concatenate([[0], np.cumsum([n[0].shape[0] for n in nets])])
        node_off = np.concatenate([[0], np.cumsum([len(n[4]) for n in nets])])
        programs = compile_program_arrays(
            conn_off, np.concatenate([n[0] for n in nets]), np.concatenate([n[1] for n in nets]),
            np.concatenate([n[2] for n in nets]), enabled=np.concatenate([n[3] for n in nets]),
            input_ids=[-1, -2, -3], output_ids=[0, 1], node_off=node_off,
            node_id=np.concatenate([list(n[4]) for n in nets]),
            node_bias=np.concatenate([list(n[4].values()) for n in nets]), slope=5.0)
        X = rng.normal(0.0, 1.0, (4, I))
        out = programs.activate(X, kernels=kernels)
        for p, (src, dst, weight, enabled, biases) in enumerate(nets):
            naive = NaiveNetwork(zip(src, dst, weight, enabled), [-1, -2, -3], [0, 1],
                                 biases=biases, slope=5.0)
            np.testing.assert_allclose(out[p], [naive.activate(x) for x in X], rtol=1e-12,
                                       atol=0)

    def test_output_ids_order_is_the_action_order(self, kernels):
        programs = compile_program_arrays([0, 1], src=[-1], dst=[5], weight=[3.0],
                                          input_ids=[-1], output_ids=[5, 2], slope=1.0)
        out = programs.activate(np.array([[1.0]]), kernels=kernels)[0, 0]
        np.testing.assert_allclose(out, [1.0 / (1.0 + np.exp(-3.0)), 0.5], rtol=1e-14)
        assert programs.act_rows([0], np.array([[1.0]]), kernels=kernels)[0] == 0

    def test_overlapping_input_and_output_ids_raise_value_error(self):
        with pytest.raises(ValueError, match="distinct"):
            compile_program_arrays([0, 0], [], [], [], input_ids=[1, 2], output_ids=[2])
