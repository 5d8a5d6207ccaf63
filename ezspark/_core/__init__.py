"""Kernel selector: the compiled Cython modules, or their numpy twins.

The compiled modules are used unless the environment variable ``EZSPARK_NO_EXTENSIONS=1`` is
set or importing them fails; ``COMPILED`` says which set this process uses, and
``IMPORT_ERROR`` keeps the reason when the compiled import failed.  A failed import is
reported once per process with a ``KernelWarning`` (the twins are about 4x slower, and a
broken build must not go unnoticed); ``EZSPARK_NO_EXTENSIONS=1`` chooses the twins on
purpose, without a warning.  The module-level kernel
functions are those of the chosen set.  ``load(pure)`` returns either set as a namespace, so
tests can compare both in one process.

Each kernel lives in ``_<name>.pyx`` (+ ``.pxd`` contract) with the twin ``_<name>_py.py``
exporting the same ``__all__``; adding a kernel module means adding its name to ``_MODULES``.
"""
from __future__ import annotations

import importlib
import os
import warnings
from types import SimpleNamespace

__all__ = ["COMPILED", "IMPORT_ERROR", "KernelWarning", "load", "activate_rows", "activate_all",
           "activate_state", "distance_pairs", "speciate", "reproduce", "crossover", "step_rows",
           "tally_rows", "cartpole_step", "acrobot_step", "mountaincar_step", "pendulum_step",
           "poles_step", "seeded_uniform"]

_MODULES = ("_activate", "_distance", "_reproduce", "_step", "_classic", "_poles")


def load(pure: bool) -> SimpleNamespace:
    """Return one kernel set as a namespace of its functions.

    ``pure=True``: the numpy twins.  ``pure=False``: the compiled modules; raises ImportError
    when they are not built.  The namespace also has ``COMPILED`` (bool) and ``name``
    (``"compiled"`` or ``"pure-python"``).
    """
    suffix = "_py" if pure else ""
    functions = {}
    for module_name in _MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}{suffix}")
        functions.update({name: getattr(module, name) for name in module.__all__})
    return SimpleNamespace(COMPILED=not pure, name="pure-python" if pure else "compiled",
                           **functions)


class KernelWarning(RuntimeWarning):
    """The compiled kernels failed to import: this process runs on the numpy twins."""


IMPORT_ERROR: ImportError | None = None
if os.environ.get("EZSPARK_NO_EXTENSIONS") == "1":
    _kernels = load(pure=True)
else:
    try:
        _kernels = load(pure=False)
    except ImportError as exc:  # not built (e.g. a source checkout without build_ext)
        IMPORT_ERROR = exc
        _kernels = load(pure=True)
        warnings.warn(
            f"ezspark's compiled kernels failed to import ({exc}); running on the numpy "
            "twins, about 4x slower.  Fix: reinstall where a C compiler is available "
            "(pip install -e . in the source checkout), or set EZSPARK_NO_EXTENSIONS=1 to "
            "choose the twins on purpose", KernelWarning)

COMPILED: bool = _kernels.COMPILED
activate_rows = _kernels.activate_rows
activate_all = _kernels.activate_all
activate_state = _kernels.activate_state
distance_pairs = _kernels.distance_pairs
speciate = _kernels.speciate
reproduce = _kernels.reproduce
crossover = _kernels.crossover
step_rows = _kernels.step_rows
tally_rows = _kernels.tally_rows
cartpole_step = _kernels.cartpole_step
acrobot_step = _kernels.acrobot_step
mountaincar_step = _kernels.mountaincar_step
pendulum_step = _kernels.pendulum_step
seeded_uniform = _kernels.seeded_uniform
poles_step = _kernels.poles_step
