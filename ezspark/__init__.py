"""ezspark: NEAT neuroevolution for gymnasium environments, configured by the EzSpark
training JSON.

    import ezspark
    cfg = ezspark.TrainingConfig.from_json("examples/cartpole.json")
    result = ezspark.train(cfg, out="runs/cartpole", seed=0)
    print(result.champion, result.history[-1])
"""
__version__ = "0.1.0"

from ._champion import Champion
from ._config import ConfigError, TrainingConfig
from ._envs import EnvError
from ._evaluation import EvaluationError
from ._stats import GenerationStats, RunResult
from ._storage import RunFile, RunStore, StoreError, load_champion
from ._trainer import RewardBelowMinimum, train
from .hookspecs import hookimpl

__all__ = [
    "__version__",
    "Champion",
    "ConfigError",
    "EnvError",
    "EvaluationError",
    "GenerationStats",
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
