"""The parts of distributed training that need neither Dask nor cryptography: the message
that says how to install them, the format of a worker's reply, the agreement rule, worker
identities, the batch task itself, and the example configurations.  They run whether or not
the ``distributed`` extra is installed (tests/test_distributed.py needs it)."""
from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

import ezspark
from ezspark.distributed import batch as _batch
from ezspark.distributed.coordinator import WorkerIdentity
from ezspark.engine.evolution import Evolution
from ezspark.evaluation.envs import inspect_env
from ezspark.evaluation.local import EnvEvaluator, episode_seeds
from ezspark.network.programs import compile_csr
from ezspark.training.trainer import make_streams

ROOT = Path(__file__).resolve().parent.parent


def config(**changes) -> ezspark.TrainingConfig:
    return ezspark.TrainingConfig(**{**dict(
        gym_game_name="CartPole-v1", input_size=4, output_size=2, initial_population=30,
        min_population=30, max_population=30, generations=6, max_number_of_games=1,
        max_number_of_steps=60, alone_training_iterations=1, genomes_per_task=3,
        safeness=0.0, seed=11), **changes})


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "ezspark", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


# -- what workers send back -------------------------------------------------------------

def _reply(n=3, fitness=(1.0, 2.0, 3.0)):
    header = json.dumps({"n": n, "reward_violations": 0, "min_reward": None,
                         "worker": "w"}).encode()
    return (b"EZB1" + struct.pack("<I", len(header)) + header
            + np.asarray(fitness, "<f8").tobytes() + np.arange(n, dtype="<i8").tobytes())


def test_replies_are_plain_numbers_checked_for_shape():
    r = _batch.parse_reply(_reply(), 3)
    assert r.fitness.tolist() == [1.0, 2.0, 3.0] and r.env_steps.tolist() == [0, 1, 2]
    with pytest.raises(_batch.ReplyError, match="bytes"):
        _batch.parse_reply(_reply(), 4)
    with pytest.raises(_batch.ReplyError, match="not bytes"):
        _batch.parse_reply({"fitness": [1, 2, 3]}, 3)
    with pytest.raises(_batch.ReplyError, match="non-finite"):
        _batch.parse_reply(_reply(fitness=(1.0, float("nan"), 3.0)), 3)
    with pytest.raises(_batch.ReplyError, match="not an ezspark"):
        _batch.parse_reply(b"\x80\x04pickle", 3)
    with pytest.raises(_batch.ReplyError, match="boom"):
        _batch.parse_reply(b"EZE1RuntimeError: boom", 3)


def test_agreement_tolerance_is_the_specs():
    f = np.array([100.0, 0.0, -5.0])
    assert _batch.agree(f, f + np.array([1e-4, 1e-10, 4e-6]))
    assert not _batch.agree(f, f + np.array([2e-4, 0, 0]))
    assert not _batch.agree(f, f + np.array([0, 2e-9, 0]))
    assert not _batch.agree(f, f[:2])


def test_worker_identity_needs_other_credentials_and_machine():
    a = WorkerIdentity("alice", "10.0.0.1/a")
    assert a.differs(WorkerIdentity("bob", "10.0.0.2/b"))
    assert not a.differs(WorkerIdentity("alice", "10.0.0.2/b"))
    assert not a.differs(WorkerIdentity("bob", "10.0.0.1/a"))
    assert WorkerIdentity("coordinator", "local").trusted and not a.trusted


def test_a_batch_evaluates_like_the_local_evaluator():
    """The task a worker runs gives the local evaluator's numbers for the same genomes."""
    cfg = config()
    evo, pop = Evolution.start(cfg, make_streams(3)[0])
    programs = compile_csr(pop.off, pop.src, pop.dst, pop.weight, pop.enabled, 4, 2)
    info = inspect_env("CartPole-v1", 4, 2)
    local = EnvEvaluator.from_config(cfg, info).evaluate(programs, 3, 5)
    seeds = episode_seeds(3, 5, np.arange(len(programs)), cfg.max_number_of_games)
    req = _batch.BatchRequest(generation=5, first=6, programs=programs.subset(np.arange(6, 12)),
                              seeds=seeds[6:12], env_id="CartPole-v1", input_size=4,
                              output_size=2, action_start=0, games=1, max_steps=60,
                              sub_games=1, minimum_reward=0.0, version=ezspark.__version__)
    reply = _batch.parse_reply(_batch.evaluate_batch(req), 6)
    np.testing.assert_array_equal(reply.fitness, local.fitness[6:12])
    np.testing.assert_array_equal(reply.env_steps, local.env_steps[6:12])
    wrong = attrs.evolve(req, version="0.0.0")
    with pytest.raises(_batch.ReplyError, match="0.0.0"):
        _batch.parse_reply(_batch.evaluate_batch(wrong), 6)


# -- without Dask ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [["run", "{config}", "--serve", "127.0.0.1:0"],
                                     ["join", "tls://127.0.0.1:1", "--credentials", "x.pem"]])
def test_without_dask_the_commands_say_how_to_install_it(tmp_path, command):
    cfg = tmp_path / "c.json"
    cfg.write_text(config().to_json())
    args = [a.format(config=cfg) for a in command]
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from ezspark.cli import main\n"
            f"sys.exit(main({args!r}))")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "pip install 'ezspark[distributed]'" in p.stderr


# -- examples -------------------------------------------------------------------------

EXAMPLES = sorted((ROOT / "examples" / "distributed").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_distributed_example_configs_validate_and_spread(path):
    p = run_cli("validate", str(path))
    assert p.returncode == 0, p.stderr
    cfg = ezspark.TrainingConfig.from_json(path)
    # generations big enough to share: at least 10 tasks per generation
    assert cfg.min_population >= 10 * cfg.genomes_per_task
