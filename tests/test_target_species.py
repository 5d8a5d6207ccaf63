"""target_species (extension, docs/algorithm.md 5.1 step 7.3): the species threshold adapts
so that the number of species stays near the target; it is run state, so a resume continues
it exactly; invalid values are configuration errors."""
import h5py
import pytest

import ezspark
from ezspark.config.training import ConfigError, TrainingConfig

from .helpers import assert_same_history_and_champions, xor_fitness

TARGET = 10


def xor_cfg(**keys) -> TrainingConfig:
    """The docs values on XOR with 150 genomes a generation."""
    base = dict(input_size=2, output_size=1, initial_population=150, min_population=150,
                target_species=TARGET, generations=60)
    return TrainingConfig(**{**base, **keys})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_species_count_stays_within_half_and_one_and_a_half_times_the_target(seed):
    result = ezspark.train(xor_cfg(), seed=seed, fitness=xor_fitness)
    species = [h.species for h in result.history[10:-1]]   # the last one is not speciated
    assert all(TARGET / 2 <= s <= 1.5 * TARGET for s in species), species


def test_the_fixed_threshold_leaves_the_species_count_free():
    """The same runs without the key: the count drifts far from 10 (why the key exists)."""
    result = ezspark.train(xor_cfg(target_species=None), seed=0, fitness=xor_fitness)
    species = [h.species for h in result.history[10:-1]]
    assert not all(TARGET / 2 <= s <= 1.5 * TARGET for s in species), species


def test_a_resume_continues_the_adapted_threshold_exactly(tmp_path):
    cfg = xor_cfg(generations=30)
    ref = ezspark.train(cfg, out=tmp_path / "ref", seed=4, fitness=xor_fitness)
    out = tmp_path / "run"
    ezspark.train(cfg, out=out, seed=4, fitness=xor_fitness, generations=15)
    with h5py.File(out / "checkpoint.h5", "r") as f:
        assert f.attrs["threshold"] != cfg.species_threshold     # adapted, and checkpointed
    ezspark.train(cfg, out=out, fitness=xor_fitness, resume=True)
    assert_same_history_and_champions(out / "run.h5", ref.path)


@pytest.mark.parametrize("value, message", [
    (0, "target_species: 0 is out of range (allowed: integer >= 1 or null)"),
    (2.5, "target_species: 2.5 is not an integer (allowed: integer >= 1 or null)"),
    ("ten", 'target_species: "ten" is not an integer (allowed: integer >= 1 or null)'),
])
def test_invalid_target_species_is_a_config_error(value, message):
    with pytest.raises(ConfigError) as info:
        TrainingConfig.from_dict({"input_size": 2, "output_size": 1, "target_species": value})
    assert str(info.value) == message


def test_null_and_integral_values_are_read():
    base = {"input_size": 2, "output_size": 1}
    assert TrainingConfig.from_dict({**base, "target_species": None}).target_species is None
    assert TrainingConfig.from_dict({**base, "target_species": 12.0}).target_species == 12
