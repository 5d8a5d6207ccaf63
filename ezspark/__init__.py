"""ezspark: NEAT neuroevolution for gymnasium environments, configured by the EzSpark
training JSON.

    import ezspark
    cfg = ezspark.TrainingConfig.from_json("examples/cartpole.json")
    result = ezspark.train(cfg, out="runs/cartpole", seed=0)
    print(result.champion, result.history[-1])
"""
from ezspark._version import __version__

from ezspark._core import KernelWarning

from ezspark.network.champion import Champion
from ezspark.config.training import ConfigError, TrainingConfig
from ezspark.evaluation.envs import EnvError
from ezspark.evaluation.contract import EvaluationError
from ezspark.store.history import GenerationStats, RunResult
from ezspark.store.runfile import RunFile, RunStore, StoreError, load_champion
from ezspark.training.trainer import RewardBelowMinimum, train
from ezspark.hookspecs import hookimpl

__all__ = [
    "__version__",
    "Champion",
    "ConfigError",
    "EnvError",
    "EvaluationError",
    "GenerationStats",
    "KernelWarning",
    "RewardBelowMinimum",
    "RunFile",
    "RunResult",
    "RunStore",
    "StoreError",
    "TrainingConfig",
    "hookimpl",
    "load_champion",
    "train",
]
