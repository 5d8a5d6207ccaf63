"""Bit-identical activation everywhere: compiled blocks (AVX2 and baseline), compiled single
rows, the numpy twin and the pure-Python ``SingleProgram``; ezspark's own ``exp``.

Results are compared as bits (``same_bits``: every NaN counts as one value, since NaN payloads
may differ between instruction sequences).
"""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ezspark import _core
from ezspark._core import _activate_py
from ezspark.network.programs import Programs

compiled = None
try:
    compiled = _core.load(pure=False)
    from ezspark._core import _activate as _compiled_module
except ImportError:  # not built
    _compiled_module = None
pure = _core.load(pure=True)

needs_compiled = pytest.mark.skipif(compiled is None, reason="compiled kernels are not built")

EXTREMES = [0.0, -0.0, 1e308, -1e308, 1e-308, -1e-308, 5e-324, np.inf, -np.inf, np.nan,
            709.78, 709.79, -745.2, 745.0, -708.5, 1e20, -1e20, 37.0, -37.0]


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    return np.array_equal(np.where(np.isnan(a), 0.0, a).view(np.uint64),
                          np.where(np.isnan(b), 0.0, b).view(np.uint64))


def mixed(rng, shape, scale, p_extreme):
    """Normal values with a share of EXTREMES mixed in."""
    x = rng.normal(0.0, scale, shape)
    pick = rng.random(shape) < p_extreme
    x[pick] = rng.choice(EXTREMES, size=int(pick.sum()))
    return x


def random_programs(rng, n_programs, n_inputs, n_outputs, p_extreme):
    """Kernel argument tuple of random valid programs (any DAG, slots below their node's;
    ``Programs`` accepts them)."""
    node_off, bias, in_off, src, w, out_slot = [0], [], [0], [], [], []
    for _ in range(n_programs):
        n = int(rng.integers(0 if n_inputs else 1, 14))     # at least one value slot
        for k in range(n):
            degree = int(rng.integers(0, 7)) if n_inputs + k else 0
            src.extend(rng.integers(0, n_inputs + k, degree).tolist())
            in_off.append(in_off[-1] + degree)
        node_off.append(node_off[-1] + n)
        bias.extend(mixed(rng, n, 1.0, p_extreme / 4).tolist())
        w.extend(mixed(rng, in_off[-1] - len(w), 2.0, p_extreme).tolist())
        out_slot.extend(rng.integers(0, n_inputs + n, n_outputs).tolist())
    prog = (np.array(node_off, np.int64), np.array(bias, np.float64),
            np.array(in_off, np.int64), np.array(src, np.int32), np.array(w, np.float64),
            np.array(out_slot, np.int32), n_inputs, n_outputs)
    Programs(n_inputs, n_outputs, 1.0, prog[0], np.zeros(len(bias), np.int32), *prog[1:6])
    return prog


def all_results(prog, row_genome, X):
    """Outputs and actions of every implementation: {name: (out[R, O], act[R])}."""
    R, O = X.shape[0], prog[7]
    found = {}
    sets = [("pure", pure)] + ([("compiled", compiled)] if compiled is not None else [])
    levels = [0] if compiled is None else sorted({1, _compiled_module._set_simd(2)})
    try:
        for name, ns in sets:
            for level in (levels if name == "compiled" else [None]):
                if level is not None:
                    _compiled_module._set_simd(level)
                out = np.full((R, O), -7.0)
                act = np.full(R, -7, np.int64)
                ns.activate_rows(*prog, row_genome, X, out, act)
                found[f"{name} rows simd={level}"] = (out, act)
                if prog[0].shape[0] > 1:
                    full = np.full((prog[0].shape[0] - 1, R, O), -7.0)
                    ns.activate_all(*prog, X, full)
                    found[f"{name} all simd={level}"] = (
                        full[row_genome, np.arange(R)], np.argmax(full[row_genome, np.arange(R)],
                                                                  axis=1))
            nets = {}
            single_out, single_act = np.full((R, O), -7.0), np.full(R, -7, np.int64)
            for r in range(R):
                g = int(row_genome[r])
                if g not in nets:
                    nets[g] = ns.SingleProgram(*prog, g)
                single_out[r] = nets[g].activate(X[r])
                single_act[r] = nets[g].act(X[r].tolist())
            found[f"{name} single"] = (single_out, single_act)
    finally:
        if compiled is not None:
            _compiled_module._set_simd(0)
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_inputs=st.integers(0, 5), n_outputs=st.integers(1, 4),
       n_programs=st.integers(1, 6), n_rows=st.integers(0, 45),
       slope=st.sampled_from([4.9, 5.0, 1.0, -3.0, 0.0, 1e3, 1e300, -1e308]),
       p_extreme=st.sampled_from([0.0, 0.05, 0.3]))
def test_every_implementation_gives_the_same_bits(seed, n_inputs, n_outputs, n_programs, n_rows,
                                                  slope, p_extreme):
    rng = np.random.default_rng(seed)
    prog = random_programs(rng, n_programs, n_inputs, n_outputs, p_extreme) + (slope,)
    # rows mostly grouped by program (blocks of 16/8/4 lanes, padded leftovers) plus a shuffle
    row_genome = np.sort(rng.integers(0, n_programs, n_rows))
    if rng.random() < 0.5:
        rng.shuffle(row_genome)
    X = mixed(rng, (n_rows, n_inputs), 2.0, p_extreme)
    found = all_results(prog, row_genome, X)
    ref_name, (ref_out, ref_act) = next(iter(found.items()))
    for name, (out, act) in found.items():
        assert same_bits(out, ref_out), f"{name} differs from {ref_name}"
        np.testing.assert_array_equal(act, ref_act, err_msg=f"{name} vs {ref_name}")
        np.testing.assert_array_equal(act, np.argmax(ref_out, axis=1) if n_rows else act)


def test_every_implementation_gives_the_same_bits_on_extreme_inputs():
    rng = np.random.default_rng(7)
    prog = random_programs(rng, 5, 4, 3, 0.2) + (4.9,)
    X = np.array([[a, b, c, d] for a in EXTREMES[:6] for b in EXTREMES[6:12]
                  for c, d in [(np.nan, 1.0), (np.inf, -np.inf), (1e308, -1e308)]])
    row_genome = np.repeat(np.arange(5), X.shape[0])
    found = all_results(prog, row_genome, np.tile(X, (5, 1)))
    ref = next(iter(found.values()))
    for name, (out, act) in found.items():
        assert same_bits(out, ref[0]), name
        np.testing.assert_array_equal(act, ref[1])


# ---- exp and sigmoid ------------------------------------------------------------------------

def exp_implementations():
    impls = [("twin scalar", pure.exp),
             ("twin array", lambda x: float(_activate_py._exp(np.array([x]))[0]))]
    if compiled is not None:
        impls.append(("compiled", compiled.exp))
    return impls


@settings(max_examples=400, deadline=None)
@given(x=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-746.0, 710.0),
                   st.floats(-2.0, 2.0)))
def test_exp_is_the_same_everywhere_and_within_one_ulp(x):
    values = [f(x) for _, f in exp_implementations()]
    assert same_bits(values, [values[0]] * len(values))
    y = values[0]
    if math.isnan(x):
        assert math.isnan(y)
    elif x > 709.79:
        assert y == math.inf
    elif x < -745.2:
        assert y == 0.0
    else:
        try:
            reference = math.exp(x)
        except OverflowError:
            reference = math.inf
        if reference == math.inf:
            assert y == math.inf
        elif reference >= 2.2250738585072014e-308:        # normal: within 1 ulp (+ libm's)
            assert abs(y - reference) <= 1.5 * math.ulp(reference)
        else:                                                # subnormal: within 1 unit
            assert abs(y - reference) <= 2 * 5e-324


def test_exp_special_values():
    for _, f in exp_implementations():
        assert f(0.0) == 1.0 and f(-0.0) == 1.0
        assert f(math.inf) == math.inf and f(-math.inf) == 0.0
        assert math.isnan(f(math.nan))
        assert f(709.78) == pytest.approx(math.exp(709.78), rel=3e-16)
        assert f(709.7827128933841) == math.inf      # just above log(DBL_MAX)
        assert f(1e308) == math.inf and f(-1e308) == 0.0
        assert 0.0 < f(-745.1) < 1e-322                # subnormal results survive
        assert f(1.0) == pytest.approx(math.e, rel=2.3e-16)


@settings(max_examples=300, deadline=None)
@given(z=st.one_of(st.floats(-800.0, 800.0), st.floats(-40.0, 40.0)))
def test_sigmoid_is_the_formula_of_3_4_within_1e_15(z):
    with np.errstate(over="ignore"):
        reference = float(1.0 / (1.0 + np.exp(-np.float64(z))))
    for f in [pure.sigmoid] + ([compiled.sigmoid] if compiled is not None else []):
        y = f(z)
        assert y == pytest.approx(reference, rel=1e-15, abs=0.0) or (y == reference == 0.0)


def test_sigmoid_limits():
    for f in [pure.sigmoid] + ([compiled.sigmoid] if compiled is not None else []):
        assert f(-1e308) == 0.0 and f(-800.0) == 0.0 and f(-math.inf) == 0.0
        assert f(1e308) == 1.0 and f(40.0) == 1.0 and f(math.inf) == 1.0
        assert f(0.0) == 0.5
        assert math.isnan(f(math.nan))


# ---- SingleProgram ----------------------------------------------------------------------------

SMALL = (np.array([0, 3], np.int64), np.array([0.0, 1.0, 1.0]), np.array([0, 2, 3, 4], np.int64),
         np.array([0, 1, 2, 0], np.int32), np.array([0.5, -1.0, 2.0, -3.0]),
         np.array([3, 4], np.int32), 2, 2, 4.9)


def single_classes():
    return [pure.SingleProgram] + ([compiled.SingleProgram] if compiled is not None else [])


@pytest.mark.parametrize("cls", single_classes(), ids=lambda c: c.__module__)
class TestSingleProgram:
    def expected(self, x):
        out = np.empty((1, 2))
        pure.activate_rows(*SMALL, np.zeros(1, np.int64), np.array([x], np.float64), out, None)
        return out[0]

    @pytest.mark.parametrize("x", [[0.3, -0.2], (0.3, -0.2), np.array([0.3, -0.2]),
                                   np.array([0.3, -0.2], np.float32), np.array([[0.3, -0.2]]),
                                   np.array([3, -2]), np.array([0.3, 9.0, -0.2])[::2],
                                   np.array([0.3, -0.2], dtype=">f8"), [np.float32(0.3), 1],
                                   [True, False]])
    def test_accepts_lists_tuples_and_arrays_of_any_real_dtype(self, cls, x):
        net = cls(*SMALL, 0)
        flat = np.asarray(x, dtype=np.float64).reshape(-1)
        out = net.activate(x)
        assert out.dtype == np.float64 and out.shape == (2,)
        assert same_bits(out, self.expected(flat))
        act = net.act(x)
        assert type(act) is int and act == int(np.argmax(out))

    @pytest.mark.parametrize("x", [[1.0], [1.0, 2.0, 3.0], np.zeros(3), np.zeros((2, 2)), (),
                                   [[0.3, -0.2]]])
    def test_wrong_number_of_values_raises_value_error(self, cls, x):
        with pytest.raises(ValueError, match="values but the network has 2 inputs"):
            cls(*SMALL, 0).activate(x)

    def test_non_numbers_raise(self, cls):
        with pytest.raises((ValueError, TypeError)):
            cls(*SMALL, 0).activate(["a", "b"])
        with pytest.raises((ValueError, TypeError)):
            cls(*SMALL, 0).activate(np.array(["a", "b"]))

    def test_out_is_written_and_returned(self, cls):
        out = np.full(2, -1.0)
        assert cls(*SMALL, 0).activate([0.3, -0.2], out) is out
        assert same_bits(out, self.expected([0.3, -0.2]))
        with pytest.raises(ValueError, match="out must be"):
            cls(*SMALL, 0).activate([0.3, -0.2], np.zeros(3))

    def test_picks_program_g_of_a_batch_and_pickles(self, cls):
        prog = random_programs(np.random.default_rng(3), 4, 3, 2, 0.0) + (4.9,)
        x = np.array([0.5, -1.5, 2.0])
        for g in range(4):
            net = pickle.loads(pickle.dumps(cls(*prog, g)))
            out = np.empty((1, 2))
            pure.activate_rows(*prog, np.array([g]), x[None], out, None)
            assert same_bits(net.activate(x), out[0])
            assert net.n_inputs == 3 and net.n_outputs == 2
            assert "3 inputs" in repr(net)
        with pytest.raises(ValueError, match="not a program index"):
            cls(*prog, 4)
