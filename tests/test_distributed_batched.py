"""Remote workers play on batched environments (issue 17 item 5): a run evaluated by the
workers of a Dask cluster on a batched id (CartPole-v1) has the history of the same run in
one process, and the workers' batches were played on ezspark's batched CartPole."""
from __future__ import annotations

import attrs
import pytest

pytest.importorskip("distributed")

import ezspark  # noqa: E402
from ezspark.evaluation.local import EnvEvaluator  # noqa: E402


def comparable(history):
    """History rows without wall time and the distributed-only columns."""
    return [attrs.astuple(attrs.evolve(h, seconds=0.0, checks=0, mismatches=0, excluded=0))
            for h in history]


def test_a_run_on_dask_workers_plays_batched_and_has_the_in_process_history(monkeypatch):
    import threading

    from distributed import LocalCluster

    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 initial_population=30, min_population=30,
                                 max_population=30, generations=4, max_number_of_games=2,
                                 max_number_of_steps=200, alone_training_iterations=1,
                                 genomes_per_task=5, safeness=0.0, seed=5)
    played = []                          # (thread name, batched environment) per play_jobs
    real = EnvEvaluator._batched

    def batched(self, rows):
        env = real(self, rows)
        played.append((threading.current_thread().name, type(env).__name__))
        return env

    monkeypatch.setattr(EnvEvaluator, "_batched", batched)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        served = ezspark.train(cfg, scheduler=cluster.scheduler_address)
    main = threading.main_thread().name
    remote = [env for thread, env in played if thread != main]
    assert remote and set(remote) == {"CartPole"}       # workers' batches: batched CartPole
    assert {env for _, env in played} == {"CartPole"}
    local = ezspark.train(cfg)
    assert comparable(served.history) == comparable(local.history)
    monkeypatch.setenv("EZSPARK_NO_BATCHED_ENVS", "1")
    assert comparable(ezspark.train(cfg).history) == comparable(local.history)
