"""Shared fixtures: ``kernels`` runs a test once per kernel implementation."""
from __future__ import annotations

import os

import pytest

from ezspark import _core

KERNEL_MODULES = {"compiled": "ezspark._core._activate",
                  "pure-python": "ezspark._core._activate_py"}


def compiled_kernels():
    """The compiled kernel namespace, or None when the extensions are not built."""
    try:
        return _core.load(pure=False)
    except ImportError:
        return None


@pytest.fixture(params=["compiled", "pure-python"])
def kernels(request):
    """Kernel namespace (``ezspark._core.load``) of one implementation.

    "compiled" is skipped when the extensions are not built, unless EZSPARK_REQUIRE_COMPILED=1
    is set: then it fails.
    """
    if request.param == "compiled":
        ns = compiled_kernels()
        if ns is None:
            if os.environ.get("EZSPARK_REQUIRE_COMPILED") == "1":
                pytest.fail("EZSPARK_REQUIRE_COMPILED=1 but the compiled kernels are not built")
            pytest.skip("compiled kernels are not built")
    else:
        ns = _core.load(pure=True)
    assert ns.name == request.param
    assert ns.COMPILED is (request.param == "compiled")
    assert ns.activate_rows.__module__ == KERNEL_MODULES[request.param]
    assert ns.activate_all.__module__ == KERNEL_MODULES[request.param]
    return ns
