"""The checking rule of distributed runs (docs/algorithm.md 7.2, ezspark/distributed/trust.py):
fixed ``safeness`` exactly as before, and adaptive verification (``trusted_after``,
``safeness_floor``) with its stated bounds.  No Dask needed: the rule is a pure function of
the batch's u and the worker's record."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ezspark
from ezspark.distributed.trust import Verification


def test_fixed_rule_is_u_below_safeness_whatever_the_record():
    rng = np.random.default_rng(0)
    for safeness in (0.0, 0.3, 0.5, 1.0):
        rule = Verification(safeness)                    # trusted_after null: fixed
        assert not rule.adaptive and rule.gap is None
        for u in rng.random(300):
            assert rule.decide("w", u) == (u < safeness)
            rule.confirmed("w")                          # a record changes nothing
        assert rule.probability("w") == safeness


def test_the_config_keys_choose_the_rule():
    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2)
    assert not Verification.from_config(cfg).adaptive     # the default: EzSpark's rule
    cfg = ezspark.TrainingConfig(gym_game_name="CartPole-v1", input_size=4, output_size=2,
                                 safeness=0.5, trusted_after=10, safeness_floor=0.05)
    rule = Verification.from_config(cfg)
    assert (rule.adaptive, rule.trusted_after, rule.floor, rule.gap) == (True, 10, 0.05, 20)


@pytest.mark.parametrize("safeness, after, floor", [(0.5, 10, 0.05), (1.0, 3, 0.25),
                                                    (1.0, 10, 0.0), (0.3, 5, 0.5)])
def test_adaptive_probability_falls_with_the_record_to_the_floor(safeness, after, floor):
    rule = Verification(safeness, after, floor)
    low = min(floor, safeness)
    for n in range(0, 400):
        rule.records.clear()
        rule.record("w").validated = n
        expected = safeness if n < after else max(low, min(safeness, 1.0 / n))
        assert rule.probability("w") == expected
    # with safeness 1 and floor 0 it is BOINC's adaptive replication: always replicated
    # below `after` consecutive valid results, then with probability 1/n
    if (safeness, floor) == (1.0, 0.0):
        rule.record("w").validated = 40
        assert rule.probability("w") == 1 / 40 and rule.gap is None


def test_a_gap_of_unchecked_answers_is_at_most_g_minus_1():
    """With floor f > 0 no worker's answers are left unchecked G = ceil(1/f) times in a row,
    whatever the draws (even u = 0.999... for every batch)."""
    for floor, gap in ((0.05, 20), (0.25, 4), (0.3, 4), (1.0, 1), (0.1, 10)):
        rule = Verification(1.0, 1, floor)
        rule.record("w").validated = 10**6                  # probability at the floor
        assert rule.gap == gap
        decisions = [rule.decide("w", 0.9999999) for _ in range(10 * gap)]
        assert decisions == ([False] * (gap - 1) + [True]) * 10


def simulate_patient_liar(rule: Verification, honest: int, rng) -> tuple[int, int]:
    """A worker honest for its first ``honest`` answers (every check it passes confirms it),
    then lying on every answer: (its lying answers until the first checked one, included;
    lying answers accepted unchecked)."""
    for _ in range(honest):
        if rule.decide("liar", rng.random()):
            rule.confirmed("liar")
    lies = 0
    while True:
        lies += 1
        if rule.decide("liar", rng.random()):
            return lies, lies - 1


@pytest.mark.parametrize("safeness, after, floor", [(0.5, 10, 0.05), (1.0, 3, 0.25),
                                                    (1.0, 10, 0.1)])
def test_a_patient_liar_is_caught_within_g_lies(safeness, after, floor):
    """docs/algorithm.md 7.2 rule 7: a worker that lies on every answer from some point on is
    checked (so excluded) no later than its G-th lying answer, G = ceil(1/f); on average
    after about 1/p of them, p its probability when it starts lying (>= f)."""
    rng = np.random.default_rng(5)
    gap = math.ceil(1 / floor)
    caught = []
    for honest in (0, 5, 50, 500, 2000):
        for _ in range(40):
            rule = Verification(safeness, after, floor)
            lies, unchecked = simulate_patient_liar(rule, honest, rng)
            assert 1 <= lies <= gap and unchecked <= gap - 1
            caught.append(lies)
    assert max(caught) <= gap


def test_expected_overhead_at_the_floor():
    """The checked fraction of a long-trusted worker's answers is f / (1 - (1 - f)^G)
    (random checks at f, plus the G-th of a run): 7.8% at the default floor 0.05."""
    rng = np.random.default_rng(1)
    rule = Verification(0.5, 10, 0.05)
    rule.record("w").validated = 10**6
    n = 200_000
    checked = sum(rule.decide("w", u) for u in rng.random(n)) / n
    f, g = 0.05, 20
    expected = f / (1 - (1 - f) ** g)
    assert abs(expected - 0.0779) < 1e-3
    assert abs(checked - expected) < 0.003


def test_trust_grows_as_boinc_says_for_an_honest_worker():
    """An honest worker (every check confirms it) at safeness 0.5, trusted_after 10: its
    checking probability reaches the floor after a few hundred batches, and its long-run
    checked fraction is well under safeness."""
    rng = np.random.default_rng(2)
    rule = Verification(0.5, 10, 0.05)
    checks = []
    for u in rng.random(2000):
        c = rule.decide("w", u)
        if c:
            rule.confirmed("w")
        checks.append(c)
    checks = np.array(checks)
    assert checks[:20].mean() > 0.3                      # untrusted: about safeness
    assert rule.probability("w") == 0.05                 # 1/n reached the floor
    assert checks[1000:].mean() < 0.1                     # then about 7.8%


def test_records_survive_a_checkpoint_as_rows():
    """``rows`` and ``restore`` (what checkpoint.h5 keeps, docs/algorithm.md 8): a restored
    Verification decides every later answer as the original would have."""
    rng = np.random.default_rng(5)
    first = Verification(1.0, trusted_after=10, floor=0.05)
    for _ in range(40):
        for key in ("alice@a/1", "bob@b/2"):
            if first.decide(key, float(rng.random())):
                first.confirmed(key)
    rows = first.rows()
    assert [r[0] for r in rows] == ["alice@a/1", "bob@b/2"] and rows[0][1] >= 10
    again = Verification(1.0, trusted_after=10, floor=0.05)
    again.restore(rows)
    assert again.rows() == rows
    us = rng.random(200).tolist()
    restored = [again.decide("alice@a/1", u) for u in us]
    assert restored == [first.decide("alice@a/1", u) for u in us]
    # without the records (a resume that forgot them) every answer would be checked again
    fresh = Verification(1.0, trusted_after=10, floor=0.05)
    assert sum(fresh.decide("alice@a/1", u) for u in us) == 200 > 4 * sum(restored)
