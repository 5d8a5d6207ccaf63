"""The public facade is pinned: changing it is a deliberate act."""
import ezspark


def test_public_names():
    assert sorted(ezspark.__all__) == sorted([
        "__version__", "Champion", "ConfigError", "EnvError", "EvaluationError",
        "GenerationStats", "KernelWarning", "RewardBelowMinimum", "RunFile", "RunResult", "RunStore", "StoreError",
        "TrainingConfig", "hookimpl", "load_champion", "train",
    ])
    for name in ezspark.__all__:
        assert hasattr(ezspark, name), name


def test_version_matches_package_metadata():
    from importlib.metadata import version
    assert ezspark.__version__ == version("ezspark")
