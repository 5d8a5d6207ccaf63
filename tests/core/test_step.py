"""The lockstep stepping kernel (``_core._step``): compiled and numpy twin give the same
results, the same bookkeeping and the same errors (contract in ``_step.pxd``)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


class ScriptedEnv:
    """``step`` returns the scripted (obs, reward, terminated, truncated) tuples in turn and
    records the actions it was given."""

    def __init__(self, script):
        self.script = list(script)
        self.actions = []

    def step(self, action):
        self.actions.append(action)
        item = self.script[len(self.actions) - 1]
        if isinstance(item, BaseException):
            raise item
        obs, reward, term, trunc = item
        return obs, reward, term, trunc, {}


def buffers(n, n_in, cap=100):
    return dict(X=np.zeros((n, n_in)), ret=np.zeros(n), length=np.zeros(n, dtype=np.int64),
                cap=np.full(n, cap, dtype=np.int64), finished=np.full(n, -7, dtype=np.int64),
                state=np.array([0, 0, -1, 0], dtype=np.int64), low=np.array([math.inf]))


def run(kernels, envs, actions, table=(0, 1), n_in=3, floor=0.0, cap=100, put=None, n=None):
    b = buffers(len(envs), n_in, cap)
    calls = []

    def default_put(r, obs):
        calls.append(r)
        b["X"][r] = np.asarray(obs, dtype=np.float64).reshape(-1)

    k = kernels.step_rows(len(envs) if n is None else n, [e.step for e in envs],
                          np.asarray(actions, dtype=np.int64), tuple(table), b["X"], b["ret"],
                          b["length"], b["cap"], floor, b["finished"], b["state"], b["low"],
                          put or default_put)
    return k, b, calls


def same(a, b):
    ka, ba, ca = a
    kb, bb, cb = b
    assert ka == kb and ca == cb
    for name in ba:
        np.testing.assert_array_equal(ba[name], bb[name], err_msg=name)


def test_steps_accumulates_and_copies(kernels):
    f32 = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    f64 = np.array([[0.1, 0.2, 0.3]])                     # 2-D: copied flat
    envs = [ScriptedEnv([(f32, 1.0, False, False)]), ScriptedEnv([(f64, -0.5, False, False)]),
            ScriptedEnv([(f32, 2.0, True, False)]), ScriptedEnv([([7, 8, 9], 0.25, False, False)])]
    k, b, calls = run(kernels, envs, [1, 0, 1, 0], table=("a", "b"))
    assert k == 1 and b["finished"][0] == 2
    np.testing.assert_array_equal(b["X"][0], f32.astype(np.float64))
    np.testing.assert_array_equal(b["X"][1], f64[0])
    np.testing.assert_array_equal(b["X"][2], 0.0)          # finished: not copied
    np.testing.assert_array_equal(b["X"][3], [7, 8, 9])    # through put
    assert calls == [3]
    assert b["ret"].tolist() == [1.0, -0.5, 2.0, 0.25]
    assert b["length"].tolist() == [1, 1, 1, 1]
    assert b["state"][1] == 1 and b["low"][0] == -0.5      # one reward below the floor 0
    assert [e.actions for e in envs] == [["b"], ["a"], ["b"], ["a"]]


def test_action_objects_are_passed_unchanged(kernels):
    table = (np.int64(3), np.int64(4))
    env = ScriptedEnv([(np.zeros(3), 0.0, False, False)] * 2)
    run(kernels, [env], [1], table=table)
    assert env.actions[0] is table[1]


def test_cap_truncated_and_n(kernels):
    obs = np.zeros(3, dtype=np.float32)
    envs = [ScriptedEnv([(obs, 1, False, True)]), ScriptedEnv([(obs, 1, False, False)]),
            ScriptedEnv([(obs, 1, False, False)])]
    k, b, _ = run(kernels, envs, [0, 0, 0], cap=1, n=2)
    assert k == 2 and b["finished"][:2].tolist() == [0, 1]
    assert envs[2].actions == []                           # row 2 is beyond n


def test_nonfinite_observation_flags_the_first_row(kernels):
    good, bad = np.zeros(3, dtype=np.float32), np.array([0, np.nan, 0], dtype=np.float32)
    envs = [ScriptedEnv([(good, 1, False, False)]), ScriptedEnv([(bad, 1, False, False)]),
            ScriptedEnv([([np.inf, 0, 0], 1, False, False)])]
    k, b, _ = run(kernels, envs, [0, 0, 0])
    assert k == 0 and b["state"][2] == 1
    # a non-finite observation that ends the game is never used
    k, b, _ = run(kernels, [ScriptedEnv([(bad, 1, True, False)])], [0])
    assert k == 1 and b["state"][2] == -1


def _unaligned_f8(values):
    """A C-contiguous float64 array whose data is not 8-byte aligned."""
    raw = np.zeros(8 * len(values) + 1, dtype=np.uint8)
    a = raw[1:].view(np.float64)
    a[:] = values
    assert not a.flags.aligned and a.flags.c_contiguous
    return a


OBS_VALUES = [1.5, -2.25, 0.375]      # exact in float32 too
OBS_FORMS = {
    ">f8": lambda v: np.array(v, dtype=">f8"),
    ">f4": lambda v: np.array(v, dtype=">f4"),
    "<f4": lambda v: np.array(v, dtype="<f4"),
    "int64": lambda v: np.array([int(x * 4) for x in v], dtype=np.int64),
    "int32 big-endian": lambda v: np.array([int(x * 4) for x in v], dtype=">i4"),
    "unaligned f8": _unaligned_f8,
    "2-D >f8": lambda v: np.array([v], dtype=">f8"),
}


@pytest.mark.parametrize("form", sorted(OBS_FORMS))
def test_any_byte_order_and_dtype_gives_the_native_result(kernels, form):
    """An observation in another byte order or dtype lands in X as the same float64 values
    as the native '<f8' array would (the compiled kernel used to read '>f8' bytes as
    native doubles); only native aligned float32/float64 skip ``put``."""
    values = OBS_VALUES if not form.startswith("int") else [int(x * 4) for x in OBS_VALUES]
    obs = OBS_FORMS[form](OBS_VALUES)
    native = np.array(values, dtype="<f8")
    k, b, calls = run(kernels, [ScriptedEnv([(obs, 1.0, False, False)])], [0])
    k_ref, b_ref, _ = run(kernels, [ScriptedEnv([(native, 1.0, False, False)])], [0])
    assert k == k_ref == 0
    direct = form == "<f4"
    assert calls == ([] if direct else [0]) and b["state"][3] == (0 if direct else 1)
    b["state"][3] = b_ref["state"][3]          # which path ran: the only difference allowed
    for name in b:
        np.testing.assert_array_equal(b[name], b_ref[name], err_msg=name)
    np.testing.assert_array_equal(b["X"][0], native)


def test_big_endian_nonfinite_observation_is_flagged(kernels):
    obs = np.array([0.0, np.inf, 1.0], dtype=">f8")
    k, b, calls = run(kernels, [ScriptedEnv([(obs, 1.0, False, False)])], [0])
    assert calls == [0] and b["state"][2] == 0
    np.testing.assert_array_equal(b["X"][0], [0.0, np.inf, 1.0])


def test_nonfinite_reward_propagates_into_the_return(kernels):
    obs = np.zeros(3)
    k, b, _ = run(kernels, [ScriptedEnv([(obs, float("nan"), False, False)])], [0])
    assert math.isnan(b["ret"][0]) and b["state"][1] == 0


def test_step_error_propagates_with_its_row(kernels):
    obs = np.zeros(3)
    envs = [ScriptedEnv([(obs, 1, False, False)]), ScriptedEnv([RuntimeError("boom")])]
    b = buffers(2, 3)
    with pytest.raises(RuntimeError, match="boom"):
        kernels.step_rows(2, [e.step for e in envs], np.zeros(2, dtype=np.int64), (0,), b["X"],
                          b["ret"], b["length"], b["cap"], 0.0, b["finished"], b["state"],
                          b["low"], None)
    assert b["state"][0] == 1 and b["state"][3] == 0
    assert b["length"].tolist() == [1, 0]                 # row 0 done, row 1 not


def test_bad_result_tuple_is_a_step_error(kernels):
    class Short:
        def step(self, a):
            return (np.zeros(3), 1.0)
    b = buffers(1, 3)
    with pytest.raises(ValueError):
        kernels.step_rows(1, [Short().step], np.zeros(1, dtype=np.int64), (0,), b["X"],
                          b["ret"], b["length"], b["cap"], 0.0, b["finished"], b["state"],
                          b["low"], None)
    assert b["state"][3] == 0


def test_put_error_is_marked(kernels):
    def put(r, obs):
        raise KeyError("shape")
    b = buffers(1, 3)
    with pytest.raises(KeyError):
        kernels.step_rows(1, [ScriptedEnv([([1, 2], 1, False, False)]).step],
                          np.zeros(1, dtype=np.int64), (0,), b["X"], b["ret"], b["length"],
                          b["cap"], 0.0, b["finished"], b["state"], b["low"], put)
    assert b["state"][3] == 1


@pytest.mark.parametrize("bad", [-1, 2])
def test_action_index_out_of_range(kernels, bad):
    with pytest.raises(ValueError, match="not an index"):
        run(kernels, [ScriptedEnv([(np.zeros(3), 1, False, False)])], [bad])


def test_n_beyond_arrays(kernels):
    with pytest.raises(ValueError, match="exceeds"):
        run(kernels, [ScriptedEnv([])], [0], n=2)


obs_values = st.one_of(st.floats(-1e6, 1e6, width=32), st.sampled_from([np.nan, np.inf, -np.inf]))
rewards = st.one_of(st.floats(-10, 10), st.sampled_from([0.0, -0.0, np.nan, np.inf]),
                    st.integers(-3, 3))


@st.composite
def scripts(draw):
    n = draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        kind = draw(st.sampled_from(["f32", "f64", ">f8", ">f4", "list"]))
        vals = draw(st.lists(obs_values, min_size=3, max_size=3))
        obs = {"f32": np.array(vals, dtype=np.float32), "f64": np.array(vals),
               ">f8": np.array(vals, dtype=">f8"), ">f4": np.array(vals, dtype=">f4"),
               "list": [float(v) for v in vals]}[kind]
        rows.append((obs, draw(rewards), draw(st.booleans()), draw(st.booleans())))
    actions = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return rows, actions, draw(st.integers(1, 3)), draw(st.floats(-5, 5))


@settings(max_examples=150, deadline=None)
@given(scripts())
def test_twins_agree(script):
    from ezspark import _core
    from tests.conftest import compiled_kernels
    compiled = compiled_kernels()
    if compiled is None:
        pytest.skip("compiled kernels are not built")
    rows, actions, cap, floor = script
    results = []
    for k in (compiled, _core.load(pure=True)):
        envs = [ScriptedEnv([row]) for row in rows]
        out = run(k, envs, actions, cap=cap, floor=floor)
        results.append(out)
        assert [e.actions for e in envs] == [[a] for a in actions]
    same(*results)
