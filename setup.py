"""Build the Cython kernels in ezspark/_core.

Compiler directives are set here, once, for every kernel.  EZSPARK_CYTHON_DEBUG=1 turns
bounds and initialisation checks on (a debug build); the release build leaves them off.
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

extensions = [
    Extension(
        name=path[:-4].replace(os.sep, "."),
        sources=[path],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
    )
    for path in sorted(glob(os.path.join("ezspark", "_core", "*.pyx")))
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
