"""The genome the no-velocity pole benchmark tests each generation (benchmarks/peers/
species_turns.py): NEAT's own rule, which both systems of bench_poles.py share.  The
published evaluations of NEAT were counted under it, so the comparison depends on it."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from peers.species_turns import SpeciesTurns  # noqa: E402


def test_the_best_species_leader_is_tested_first():
    turns = SpeciesTurns()
    # species 7 leads with 0.9 (its first genome of that fitness), species 3 has 0.5
    assert turns.pick([0.5, 0.9, 0.2, 0.9], [3, 7, 3, 7]) == 1


def test_a_species_that_did_not_improve_gives_the_next_species_its_turn():
    turns = SpeciesTurns()
    fitness, species = [0.5, 0.9, 0.3], [1, 2, 3]
    assert turns.pick(fitness, species) == 1           # species 2 leads
    assert turns.pick(fitness, species) == 0           # 2 is checked: species 1
    assert turns.pick(fitness, species) == 2           # then species 3
    assert turns.pick(fitness, species) == 1           # all checked: the leader again


def test_an_improved_species_is_tested_again():
    turns = SpeciesTurns()
    assert turns.pick([0.5, 0.9], [1, 2]) == 1
    assert turns.pick([0.5, 0.9], [1, 2]) == 0
    # species 2 beats its own best: unchecked, and it leads
    assert turns.pick([0.5, 0.95], [1, 2]) == 1
    # equal to its best is no improvement: species 1 is checked too, so the leader
    assert turns.pick([0.5, 0.95], [1, 2]) == 1
    # a new species is unchecked; it is tested although it trails
    assert turns.pick([0.5, 0.95, 0.1], [1, 2, 9]) == 2


def test_ties_between_species_go_to_the_lower_id():
    assert SpeciesTurns().pick([0.4, 0.4], [5, 2]) == 1


def test_a_species_is_judged_by_its_best_not_by_the_population_order():
    turns = SpeciesTurns()
    assert turns.pick([0.3, 0.6], [1, 1]) == 1
    # species 1's best falls to 0.35 (below its record): still checked, so no other turn
    # exists and the leader is tested; its best genome is now index 0
    assert turns.pick([0.35, 0.2], [1, 1]) == 0


def test_a_recovery_below_the_species_record_is_no_improvement():
    turns = SpeciesTurns()
    species = [1, 2, 3]
    assert turns.pick([0.6, 0.3, 0.2], species) == 0
    assert turns.pick([0.1, 0.3, 0.2], species) == 1   # species 1 fell: its turn is over
    assert turns.pick([0.1, 0.3, 0.2], species) == 2
    # species 1 climbs back to 0.2, still below its record 0.6: every species is checked,
    # so the leader (species 2) is tested, not species 1
    assert turns.pick([0.2, 0.3, 0.2], species) == 1


@pytest.mark.parametrize("fitness, species", [([], []), ([0.1, 0.2], [1])])
def test_malformed_input_is_refused(fitness, species):
    with pytest.raises(ValueError, match="one species per genome"):
        SpeciesTurns().pick(fitness, species)
