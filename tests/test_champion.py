"""``Champion.activate`` / ``act``: one observation through the single-row path, batches
through the batched kernel, the same bits either way."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from ezspark import Champion
from ezspark.engine.genome import Genome

from .naive import random_genome


@pytest.fixture
def champion():
    rng = np.random.default_rng(5)
    genome = random_genome(rng, 4, 3, n_hidden=4, n_genes=20, p_enabled=1.0)
    return Champion(genome, 4, 3, generation=2, fitness=1.5)


def batched(champion, X):
    return champion.programs.activate(np.asarray(X, dtype=np.float64).reshape(-1, 4))[0]


@pytest.mark.parametrize("convert", [list, tuple, np.asarray,
                                     lambda x: np.asarray(x, np.float32).astype(np.float64),
                                     lambda x: np.asarray(x).reshape(2, 2)])
def test_one_observation_gives_the_batched_kernels_bits(champion, convert):
    X = np.random.default_rng(0).normal(0.0, 2.0, (25, 4))
    for r in range(X.shape[0]):
        expected = batched(champion, convert(X[r]))[0]
        out = champion.activate(convert(X[r]))
        assert out.shape == (3,) and out.dtype == np.float64
        np.testing.assert_array_equal(out, expected)
        action = champion.act(convert(X[r]))
        assert type(action) is int and action == int(np.argmax(expected))


@pytest.mark.parametrize("convert", [np.asarray, lambda x: x.tolist()])
def test_a_batch_gives_rows_and_actions(champion, convert):
    X = np.random.default_rng(1).normal(0.0, 2.0, (6, 4))
    np.testing.assert_array_equal(champion.activate(convert(X)), batched(champion, X))
    np.testing.assert_array_equal(champion.act(convert(X)),
                                  np.argmax(batched(champion, X), axis=1))
    assert champion.activate(convert(X[:1])).shape == (1, 3)


@pytest.mark.parametrize("bad", [[1.0, 2.0], np.zeros(5), (), np.zeros((2, 3))])
def test_wrong_size_raises_value_error(champion, bad):
    with pytest.raises(ValueError, match="values but the network has 4 inputs"):
        champion.activate(bad)
    with pytest.raises(ValueError, match="values but the network has 4 inputs"):
        champion.act(bad)


def test_pickled_champion_acts_the_same(champion):
    x = [0.1, -0.4, 2.0, 0.0]
    champion.act(x)                    # builds the network before pickling
    copy = pickle.loads(pickle.dumps(champion))
    np.testing.assert_array_equal(copy.activate(x), champion.activate(x))
    assert copy.network is not None and copy.act(x) == champion.act(x)


class TestBiasInput:
    """docs/algorithm.md 3.4: with bias_input the last input node holds 0.5 and reads no
    observation value."""

    @staticmethod
    def bias_champion(**kw):
        # inputs 1, 2 (observed) and 3 (the bias), output 4: genes 1 -> 4 (w 1) and 3 -> 4
        genome = Genome(np.array([1, 3]), np.array([1, 3]), np.array([4, 4]),
                        np.array([1.0, -3.0]), np.array([True, True]))
        return Champion(genome, 3, 1, bias_input=True, **kw)

    def test_the_bias_is_one_half_at_every_step(self):
        c = self.bias_champion()
        assert c.observation_size == 2
        for x in ([0.0, 0.0], [0.4, -7.0], [-1.25, 3.0]):
            expected = 1.0 / (1.0 + np.exp(-4.9 * (x[0] + 0.5 * -3.0 + 1.0)))
            np.testing.assert_allclose(c.activate(x), [expected], rtol=1e-15)
        rows = np.array([[0.0, 0.0], [0.4, -7.0]])
        np.testing.assert_array_equal(c.activate(rows)[:, 0],
                                      [c.activate(r)[0] for r in rows])

    def test_the_bias_persists_in_a_recurrent_network(self):
        c = self.bias_champion(recurrent=True)
        first = c.activate([0.0, 0.0])
        np.testing.assert_array_equal(c.activate([0.0, 0.0]), first)

    def test_an_observation_with_the_bias_value_is_refused(self):
        c = self.bias_champion()
        for observation in ([0.0, 0.0, 0.5], np.zeros((1, 3))):
            with pytest.raises(ValueError, match="3 values but the network has 2 inputs"):
                c.activate(observation)
