"""Argument checks shared by the numpy twins: what a typed contiguous memoryview checks."""
from __future__ import annotations

import numpy as np

__all__ = ["check_array"]


def check_array(a, kinds: str, itemsize: int, ndim: int, name: str, *, writeable: bool = False):
    """Check ``a`` the way a typed contiguous memoryview does, and return it.

    ``kinds`` lists the accepted dtype kinds (``"i"``, ``"f"``, ``"bu"`` …); the first is
    named in the message.
    """
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind not in kinds or a.dtype.itemsize != itemsize:
        raise ValueError(f"{name} has dtype {a.dtype}, expected {kinds[0]}{itemsize}")
    if a.ndim != ndim:
        raise ValueError(f"{name} has {a.ndim} dimensions, expected {ndim}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} is not C-contiguous")
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return a
