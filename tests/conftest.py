"""Shared fixtures: ``kernels`` runs a test once per kernel implementation."""
from __future__ import annotations

import os
import signal

# Tests build their own plugin managers; installed plugins must not leak into them.
os.environ["EZSPARK_DISABLE_PLUGIN_AUTOLOAD"] = "1"
# A shell starts a background job (`pytest &`) with Ctrl-C ignored, and the commands the
# tests start inherit that, so ezspark rightly keeps ignoring it there; the interrupt tests
# need it delivered as on a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402

from ezspark import _core  # noqa: E402

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


@pytest.fixture(scope="session")
def xor_run(tmp_path_factory):
    """run.h5 of a 15-generation XOR run (fitness function, hidden nodes appear)."""
    import ezspark
    from .helpers import xor_fitness

    out = tmp_path_factory.mktemp("xor")
    cfg = ezspark.TrainingConfig(input_size=2, output_size=1, species_threshold=2.0,
                                 generations=15)
    ezspark.train(cfg, out=out, seed=0, fitness=xor_fitness)
    return out / "run.h5"


@pytest.fixture(scope="session")
def bias_run(tmp_path_factory):
    """run.h5 of a 3-generation CartPole-v1 run with a bias input (and hidden nodes)."""
    import ezspark

    out = tmp_path_factory.mktemp("bias")
    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 generations=3, max_number_of_steps=50,
                                 add_node_specie_rate=1.0, bias_input=True)
    ezspark.train(cfg, out=out, seed=0)
    return out / "run.h5"


@pytest.fixture(scope="session")
def cartpole_run(tmp_path_factory):
    """run.h5 of a 3-generation CartPole-v1 run."""
    import ezspark

    out = tmp_path_factory.mktemp("cartpole")
    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 generations=3, max_number_of_steps=50,
                                 add_node_specie_rate=1.0)
    ezspark.train(cfg, out=out, seed=0)
    return out / "run.h5"
