"""Lockstep stepping of a batch of environments (contract in ``_step.pxd``).

The evaluator's per-step glue in C: one Python call per row (the environment's own
``step``), everything else (reward sums, step counts, the end-of-game test, copying the
observation into the batch matrix, the finiteness check) on C values.  ``tally_rows`` is the
same bookkeeping for rows that a batched environment stepped with one call.
``_step_py.py`` is the pure-Python twin with the same signature.
"""
cimport numpy as cnp
from libc.math cimport isfinite

from ezspark._core._typedefs cimport float64_t, int64_t, intp_t, uint8_t

cnp.import_array()

__all__ = ["step_rows", "tally_rows"]


cdef inline bint _copy_obs(object obs, float64_t* dst, intp_t n_in):
    """Copy a native-byte-order, aligned, C-contiguous float32/float64 ndarray of n_in values
    into dst; False when obs has another type, dtype, byte order, layout or size (the caller
    then converts it in Python)."""
    cdef cnp.ndarray a
    cdef intp_t j
    cdef const float* f32
    cdef const double* f64
    if type(obs) is not cnp.ndarray:
        return False
    a = <cnp.ndarray>obs
    # The type number does not say the byte order: a '>f8' array is NPY_FLOAT64 too, and its
    # bytes read as a native double are garbage.  Swapped (and unaligned) arrays take the slow
    # path, which converts them, as the twin does.
    if (not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISNOTSWAPPED(a)
            or not cnp.PyArray_ISALIGNED(a) or cnp.PyArray_SIZE(a) != n_in):
        return False
    if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32:
        f32 = <const float*>cnp.PyArray_DATA(a)
        for j in range(n_in):
            dst[j] = f32[j]
        return True
    if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64:
        f64 = <const double*>cnp.PyArray_DATA(a)
        for j in range(n_in):
            dst[j] = f64[j]
        return True
    return False


cdef inline bint _all_finite(const float64_t* x, intp_t n) noexcept nogil:
    cdef intp_t j
    for j in range(n):
        if not isfinite(x[j]):
            return False
    return True


def step_rows(intp_t n, list steps, const int64_t[::1] actions, tuple table,
              float64_t[:, ::1] X, float64_t[::1] ret, int64_t[::1] length,
              const int64_t[::1] cap, float64_t floor, int64_t[::1] finished,
              int64_t[::1] state, float64_t[::1] low, object put):
    """Step rows 0 ... n-1 once; returns how many finished (their rows are in finished[:k])."""
    cdef intp_t r, k = 0, n_in = X.shape[1], n_act = len(table)
    cdef int64_t a
    cdef float64_t reward
    cdef object result, obs, terminated, truncated, info
    if n < 0 or n > len(steps) or n > actions.shape[0] or n > X.shape[0] or n > ret.shape[0] \
            or n > length.shape[0] or n > cap.shape[0] or n > finished.shape[0]:
        raise ValueError(f"n = {n} exceeds the length of a row array")
    if state.shape[0] < 4 or low.shape[0] < 1:
        raise ValueError("state needs 4 entries and low 1")
    for r in range(n):
        a = actions[r]
        if a < 0 or a >= n_act:
            raise ValueError(f"actions[{r}] = {a} is not an index into the {n_act} actions")
        state[0] = r
        state[3] = 0
        result = steps[r](table[a])
        obs, reward_obj, terminated, truncated, info = result
        reward = reward_obj          # float(reward): NaN and inf propagate into ret
        if reward < floor:
            state[1] += 1
            if reward < low[0]:
                low[0] = reward
        ret[r] += reward
        length[r] += 1
        if terminated or truncated or length[r] >= cap[r]:
            finished[k] = r
            k += 1
            continue
        if not _copy_obs(obs, &X[r, 0], n_in):
            state[3] = 1
            put(r, obs)
        if state[2] < 0 and not _all_finite(&X[r, 0], n_in):
            state[2] = r
    return k


def tally_rows(intp_t n, const float64_t[::1] reward, const uint8_t[::1] terminated,
               const float64_t[:, ::1] X, float64_t[::1] ret, int64_t[::1] length,
               const int64_t[::1] cap, float64_t floor, int64_t[::1] finished,
               int64_t[::1] state, float64_t[::1] low):
    """step_rows' bookkeeping for rows 0 ... n-1 that a batched environment has stepped
    (rewards and terminated flags given, observations already in X); returns how many
    finished (their rows are in finished[:k])."""
    cdef intp_t r, k = 0, n_in = X.shape[1]
    cdef float64_t value
    if n < 0 or n > reward.shape[0] or n > terminated.shape[0] or n > X.shape[0] \
            or n > ret.shape[0] or n > length.shape[0] or n > cap.shape[0] \
            or n > finished.shape[0]:
        raise ValueError(f"n = {n} exceeds the length of a row array")
    if state.shape[0] < 4 or low.shape[0] < 1:
        raise ValueError("state needs 4 entries and low 1")
    with nogil:
        for r in range(n):
            value = reward[r]
            if value < floor:
                state[1] += 1
                if value < low[0]:
                    low[0] = value
            ret[r] += value
            length[r] += 1
            if terminated[r] or length[r] >= cap[r]:
                finished[k] = r
                k += 1
            elif state[2] < 0 and not _all_finite(&X[r, 0], n_in):
                state[2] = r
    return k
