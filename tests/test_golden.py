"""Golden histories: three fixed-seed runs must reproduce their pinned records bit for bit.

A change that alters results updates tests/golden/*.json on purpose, in the same commit,
and says so in the commit message and in CHANGELOG.md (``python -m tests.golden.runs --write``).
"""
import json

import pytest

from tests.golden import runs


def _first_difference(pinned: dict, got: dict) -> str:
    for part in ("history", "champions"):
        for i, (a, b) in enumerate(zip(pinned[part], got[part])):
            if a != b:
                keys = sorted(k for k in a if a.get(k) != b.get(k))
                return f"{part}[{i}] differs in {keys}: pinned {a}, got {b}"
        if len(pinned[part]) != len(got[part]):
            return f"{part}: pinned {len(pinned[part])} rows, got {len(got[part])}"
    return "identical"


@pytest.mark.parametrize("name", sorted(runs.RUNS))
def test_run_reproduces_its_golden_history(name, tmp_path):
    pinned = json.loads(runs.pinned_path(name).read_text())
    got = runs.record(runs.RUNS[name](tmp_path))
    assert got == pinned, _first_difference(pinned, got)


def test_golden_records_are_not_trivial():
    """Each pinned run has many generations, several species and saved champions."""
    for name in runs.RUNS:
        pinned = json.loads(runs.pinned_path(name).read_text())
        assert len(pinned["history"]) >= 6
        assert max(row["species"] for row in pinned["history"]) >= 2
        assert len(pinned["champions"]) == len(pinned["history"])
