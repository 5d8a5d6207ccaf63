"""The activation kernels (``_core/_activate.pyx`` and its twin ``_activate_py.py``)."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from ezspark import _core
from ezspark.network.programs import compile_programs
from tests.naive import NaiveNetwork, random_genome

SLOPE = 4.9


def compiled_kernels():
    try:
        return _core.load(pure=False)
    except ImportError:
        return None


def program(node_off, node_bias, in_off, in_src, in_w, out_slot, n_inputs, n_outputs,
            slope=SLOPE):
    """Kernel argument tuple from plain lists."""
    return (np.array(node_off, np.int64), np.array(node_bias, np.float64),
            np.array(in_off, np.int64), np.array(in_src, np.int32),
            np.array(in_w, np.float64), np.array(out_slot, np.int32), n_inputs, n_outputs,
            slope)


def args_of(programs):
    return (programs.node_off, programs.node_bias, programs.in_off, programs.in_src,
            programs.in_w, programs.out_slot, programs.n_inputs, programs.n_outputs,
            programs.slope)


def run_rows(kernels, prog, row_genome, X):
    R, O = X.shape[0], prog[7]
    out = np.full((R, O), np.nan)
    act = np.full(R, -7, dtype=np.int64)
    kernels.activate_rows(*prog, np.asarray(row_genome, np.int64), X, out, act)
    return out, act


def random_population(seed, n=25, n_inputs=4, n_outputs=3, weight_scale=2.0):
    rng = np.random.default_rng(seed)
    genomes = [random_genome(rng, n_inputs, n_outputs, weight_scale=weight_scale)
               for _ in range(n)]
    X = rng.normal(0.0, 1.5, (7, n_inputs))
    return genomes, X


# One program, I = 2, O = 2: hidden h = sigma(4.9 * (0.5 x1 - x2)), then
# o1 = sigma(4.9 * (1 + 2 h)), o2 = sigma(4.9 * (1 - 3 x1)).
SMALL = program(node_off=[0, 3], node_bias=[0.0, 1.0, 1.0], in_off=[0, 2, 3, 4],
                in_src=[0, 1, 2, 0], in_w=[0.5, -1.0, 2.0, -3.0], out_slot=[3, 4],
                n_inputs=2, n_outputs=2)


def small_expected(x1, x2):
    s = lambda z: 1.0 / (1.0 + np.exp(-SLOPE * z))
    h = s(0.5 * x1 - x2)
    return np.array([s(1.0 + 2.0 * h), s(1.0 - 3.0 * x1)])


class TestActivateRows:
    def test_hand_built_program_gives_formula_values(self, kernels):
        X = np.array([[0.3, -0.2], [1.0, 2.0], [0.0, 0.0]])
        out, act = run_rows(kernels, SMALL, [0, 0, 0], X)
        expected = np.array([small_expected(*x) for x in X])
        np.testing.assert_allclose(out, expected, rtol=1e-13)
        np.testing.assert_array_equal(act, np.argmax(expected, axis=1))

    @pytest.mark.parametrize("seed", range(12))
    def test_matches_naive_network_on_random_genomes(self, kernels, seed):
        genomes, X = random_population(seed)
        prog = args_of(compile_programs(genomes, 4, 3))
        row_genome = np.repeat(np.arange(len(genomes)), X.shape[0])
        rows = np.tile(X, (len(genomes), 1))
        out, act = run_rows(kernels, prog, row_genome, rows)
        for r, g in enumerate(row_genome):
            naive = NaiveNetwork.from_genome(genomes[g], 4, 3)
            np.testing.assert_allclose(out[r], naive.activate(rows[r]), rtol=1e-12, atol=0)
            assert act[r] == naive.act(rows[r])

    @pytest.mark.parametrize("seed", range(12))
    def test_compiled_and_pure_python_agree(self, seed):
        compiled = compiled_kernels()
        if compiled is None:
            pytest.skip("compiled kernels are not built")
        pure = _core.load(pure=True)
        genomes, X = random_population(100 + seed, n=40, weight_scale=3.0)
        prog = args_of(compile_programs(genomes, 4, 3))
        rng = np.random.default_rng(seed)
        row_genome = rng.integers(0, len(genomes), 300)
        rows = rng.normal(0.0, 2.0, (300, 4))
        out_c, act_c = run_rows(compiled, prog, row_genome, rows)
        out_p, act_p = run_rows(pure, prog, row_genome, rows)
        np.testing.assert_array_equal(out_c, out_p)     # bit for bit: same exp, same order
        np.testing.assert_array_equal(act_c, act_p)

    def test_rows_may_use_programs_in_any_order(self, kernels):
        genomes, X = random_population(5, n=6)
        prog = args_of(compile_programs(genomes, 4, 3))
        row_genome = np.array([5, 0, 3, 3, 1, 0, 2])
        out, _ = run_rows(kernels, prog, row_genome, X)
        for r, g in enumerate(row_genome):
            alone, _ = run_rows(kernels, args_of(compile_programs([genomes[g]], 4, 3)),
                                [0], X[r:r + 1])
            np.testing.assert_array_equal(out[r], alone[0])

    def test_huge_negative_sum_gives_zero_without_warning(self, kernels):
        prog = program([0, 1], [1.0], [0, 1], [0], [-1e6], [1], n_inputs=1, n_outputs=1)
        X = np.array([[1.0], [1e300], [-1.0]])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out, act = run_rows(kernels, prog, [0, 0, 0], X)
        assert out[0, 0] == 0.0 and out[1, 0] == 0.0
        assert out[2, 0] == 1.0
        np.testing.assert_array_equal(act, [0, 0, 0])

    def test_action_is_lowest_index_of_the_maximum(self, kernels):
        # three outputs without inputs: all sigma(4.9), a three-way tie -> 0; then outputs 1 and
        # 2 read the same input (equal and larger than output 0) -> 1.
        tie = program([0, 3], [1.0, 1.0, 1.0], [0, 0, 0, 0], [], [], [1, 2, 3], 1, 3)
        _, act = run_rows(kernels, tie, [0], np.array([[0.0]]))
        assert act[0] == 0
        pair = program([0, 3], [1.0, 1.0, 1.0], [0, 0, 1, 2], [0, 0], [1.0, 1.0], [1, 2, 3],
                       1, 3)
        out, act = run_rows(kernels, pair, [0, 0], np.array([[2.0], [-2.0]]))
        assert out[0, 1] == out[0, 2] > out[0, 0]
        assert act[0] == 1
        assert act[1] == 0

    def test_first_nan_output_counts_as_maximum_like_numpy_argmax(self, kernels):
        # outputs 1 and 2 read input 0, output 3 is sigma(4.9 * 1) (largest when x is finite)
        prog = program([0, 4], [1.0, 1.0, 1.0, 1.0], [0, 0, 1, 2, 2], [0, 0], [1.0, 1.0],
                       [1, 2, 3, 4], 1, 4)
        out, act = run_rows(kernels, prog, [0, 0], np.array([[np.nan], [-5.0]]))
        assert np.isnan(out[0, 1]) and np.isnan(out[0, 2])
        assert act[0] == np.argmax(out[0]) == 1
        assert act[1] == np.argmax(out[1]) == 0

    def test_out_or_act_may_be_none(self, kernels):
        X = np.array([[1.0, -1.0], [0.5, 0.5]])
        full_out, full_act = run_rows(kernels, SMALL, [0, 0], X)
        act = np.zeros(2, dtype=np.int64)
        kernels.activate_rows(*SMALL, np.zeros(2, np.int64), X, None, act)
        np.testing.assert_array_equal(act, full_act)
        out = np.zeros((2, 2))
        kernels.activate_rows(*SMALL, np.zeros(2, np.int64), X, out, None)
        np.testing.assert_array_equal(out, full_out)

    def test_no_rows_writes_nothing(self, kernels):
        out = np.empty((0, 2))
        kernels.activate_rows(*SMALL, np.zeros(0, np.int64), np.empty((0, 2)), out, None)
        assert out.shape == (0, 2)

    @pytest.mark.parametrize("bad", [-1, 1, 99])
    def test_row_genome_out_of_range_raises_value_error(self, kernels, bad):
        X = np.zeros((3, 2))
        with pytest.raises(ValueError, match=rf"row_genome\[2\] = {bad} .* 1 programs"):
            kernels.activate_rows(*SMALL, np.array([0, 0, bad]), X, np.empty((3, 2)), None)

    def test_wrong_column_count_raises_value_error_naming_both(self, kernels):
        with pytest.raises(ValueError, match=r"X has 3 columns .* 2 inputs"):
            kernels.activate_rows(*SMALL, np.zeros(4, np.int64), np.zeros((4, 3)), None, None)

    def test_row_genome_length_mismatch_raises_value_error(self, kernels):
        with pytest.raises(ValueError, match=r"row_genome has 3 entries but X has 4 rows"):
            kernels.activate_rows(*SMALL, np.zeros(3, np.int64), np.zeros((4, 2)), None, None)

    def test_wrong_out_shape_raises_value_error(self, kernels):
        with pytest.raises(ValueError, match=r"out has shape \(4, 3\), expected \(4, 2\)"):
            kernels.activate_rows(*SMALL, np.zeros(4, np.int64), np.zeros((4, 2)),
                                  np.zeros((4, 3)), None)
        with pytest.raises(ValueError, match=r"act has 5 entries, expected 4"):
            kernels.activate_rows(*SMALL, np.zeros(4, np.int64), np.zeros((4, 2)), None,
                                  np.zeros(5, np.int64))

    def test_inconsistent_program_lengths_raise_value_error(self, kernels):
        bad = list(SMALL)
        bad[5] = np.array([3, 4, 4], np.int32)   # out_slot for 1 program x 2 outputs
        with pytest.raises(ValueError, match=r"out_slot has 3 entries, expected 1 programs x 2"):
            kernels.activate_rows(*bad, np.zeros(1, np.int64), np.zeros((1, 2)), None, None)
        bad = list(SMALL)
        bad[4] = np.array([0.5, -1.0, 2.0], np.float64)
        with pytest.raises(ValueError, match=r"in_src has 4 entries but in_w has 3"):
            kernels.activate_rows(*bad, np.zeros(1, np.int64), np.zeros((1, 2)), None, None)

    def test_wrong_dtype_raises_value_error(self, kernels):
        with pytest.raises(ValueError):
            kernels.activate_rows(*SMALL, np.zeros(1, np.int64), np.zeros((1, 2), np.float32),
                                  None, None)

    def test_read_only_inputs_are_accepted(self, kernels):
        prog = [a.copy() if isinstance(a, np.ndarray) else a for a in SMALL]
        for a in prog:
            if isinstance(a, np.ndarray):
                a.setflags(write=False)
        X = np.array([[0.25, 0.75]])
        X.setflags(write=False)
        out, _ = run_rows(kernels, tuple(prog), np.zeros(1, np.int64), X)
        np.testing.assert_allclose(out[0], small_expected(0.25, 0.75), rtol=1e-13)


class TestActivateAll:
    @pytest.mark.parametrize("seed", range(4))
    def test_equals_activate_rows_for_each_program(self, kernels, seed):
        genomes, X = random_population(200 + seed)
        prog = args_of(compile_programs(genomes, 4, 3))
        out = np.full((len(genomes), X.shape[0], 3), np.nan)
        kernels.activate_all(*prog, X, out)
        for g in range(len(genomes)):
            rows, _ = run_rows(kernels, prog, np.full(X.shape[0], g), X)
            np.testing.assert_array_equal(out[g], rows)

    def test_compiled_and_pure_python_agree(self):
        compiled = compiled_kernels()
        if compiled is None:
            pytest.skip("compiled kernels are not built")
        genomes, X = random_population(300, n=60, weight_scale=4.0)
        prog = args_of(compile_programs(genomes, 4, 3))
        outs = []
        for ns in (compiled, _core.load(pure=True)):
            out = np.empty((60, X.shape[0], 3))
            ns.activate_all(*prog, X, out)
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1])

    def test_wrong_out_shape_raises_value_error(self, kernels):
        with pytest.raises(ValueError, match=r"out has shape \(1, 3, 2\), expected \(1, 4, 2\)"):
            kernels.activate_all(*SMALL, np.zeros((4, 2)), np.zeros((1, 3, 2)))

    def test_wrong_column_count_raises_value_error_naming_both(self, kernels):
        with pytest.raises(ValueError, match=r"X has 5 columns .* 2 inputs"):
            kernels.activate_all(*SMALL, np.zeros((4, 5)), np.zeros((1, 4, 2)))


class TestSelector:
    def test_compiled_kernels_are_built_when_required(self):
        """EZSPARK_REQUIRE_COMPILED=1 (CI): a missing build fails instead of skipping."""
        if os.environ.get("EZSPARK_REQUIRE_COMPILED") != "1":
            pytest.skip("EZSPARK_REQUIRE_COMPILED is not set")
        assert compiled_kernels() is not None, f"not built: {_core.IMPORT_ERROR}"
        if os.environ.get("EZSPARK_NO_EXTENSIONS") != "1":
            assert _core.COMPILED

    @pytest.mark.parametrize("no_extensions", ["1", "0"])
    def test_no_extensions_env_var_selects_the_twins(self, no_extensions):
        env = dict(os.environ, EZSPARK_NO_EXTENSIONS=no_extensions)
        code = ("import ezspark._core as c; "
                "print(c.COMPILED, c.activate_rows.__module__)")
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True)
        compiled, module = result.stdout.split()
        if no_extensions == "1" or compiled_kernels() is None:
            assert (compiled, module) == ("False", "ezspark._core._activate_py")
        else:
            assert (compiled, module) == ("True", "ezspark._core._activate")

    # -c code: an import hook that makes the compiled _activate fail to import for real
    BLOCKED = (
        "import sys, warnings\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ezspark._core._activate':\n"
        "            raise ImportError('_activate blocked by the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "warnings.simplefilter({action!r})\n"
        "import ezspark, ezspark.cli, ezspark._core as c\n"
        "import ezspark.evaluation.processes\n"
        "print(c.COMPILED, type(c.IMPORT_ERROR).__name__)\n")

    def test_a_failed_compiled_import_warns_once(self):
        env = dict(os.environ, EZSPARK_NO_EXTENSIONS="0")
        result = subprocess.run([sys.executable, "-c", self.BLOCKED.format(action="always")],
                                env=env, capture_output=True, text=True, check=True)
        assert result.stdout.split() == ["False", "ImportError"]
        assert result.stderr.count(": KernelWarning: ") == 1, result.stderr
        assert "_activate blocked by the test" in result.stderr
        assert "pip install -e ." in result.stderr and "EZSPARK_NO_EXTENSIONS=1" in result.stderr

    def test_twins_chosen_on_purpose_do_not_warn(self):
        env = dict(os.environ, EZSPARK_NO_EXTENSIONS="1")
        result = subprocess.run([sys.executable, "-c", self.BLOCKED.format(action="error")],
                                env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "NoneType"]
        assert result.stderr == ""

    def test_load_gives_both_sets_with_the_same_functions(self):
        pure = _core.load(pure=True)
        assert {"activate_rows", "activate_all", "SingleProgram", "exp",
                "sigmoid"} <= set(vars(pure))
        compiled = compiled_kernels()
        if compiled is not None:
            assert set(vars(compiled)) == set(vars(pure))
