"""Build the Cython kernels in ezspark/_core.

Each kernel is ``ezspark/_core/_<name>.pyx``; its C code, when it has some, lives beside it in
``ezspark/_core/ez_<name>.h`` (included by the .pyx through ``cdef extern from``).  The headers
are package data (pyproject.toml), so an sdist carries them and a build from it finds them
through ``include_dirs``.

Compiler directives are set here, once, for every kernel.  EZSPARK_CYTHON_DEBUG=1 turns bounds
and initialisation checks on (a debug build); the release build leaves them off.
"""
import os
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("EZSPARK_CYTHON_DEBUG") == "1"
directives = {
    "language_level": 3,
    "boundscheck": debug,
    "initializedcheck": debug,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
}

# -ffp-contract=off: no fused multiply-add, so the compiled kernels add products in the
# same rounding as the numpy twins.  Never -ffast-math (it reorders sums).
compile_args = [] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]
if debug and sys.platform != "win32":
    compile_args += ["-O0", "-g"]

CORE = os.path.join("ezspark", "_core")


def headers(pyx: str) -> list[str]:
    """The kernel's own header ez_<name>.h, if it has one: a changed header rebuilds it."""
    header = os.path.join(CORE, "ez_" + os.path.basename(pyx)[1:-4] + ".h")
    return [header] if os.path.exists(header) else []


extensions = [
    Extension(
        name=path[:-4].replace(os.sep, "."),
        sources=[path],
        depends=headers(path),
        include_dirs=[np.get_include(), CORE],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
    )
    for path in sorted(glob(os.path.join(CORE, "*.pyx")))
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
