"""Which remote answers are checked: ``safeness``, fixed or adaptive (docs/algorithm.md 7.2).

A batch's first answer from a remote worker W is checked when the batch's u (drawn from the
run's verification stream when its generation starts, rule 1) is below W's **checking
probability**, and, with adaptive verification, also when W's last answers went unchecked
too many times in a row.

- **Fixed** (``trusted_after`` null, the default): the probability is ``safeness`` for every
  worker, and nothing else is checked.  This is EzSpark's rule, unchanged.
- **Adaptive** (``trusted_after`` = R), after BOINC's adaptive replication: W's *record* n
  is the number of its answers that another evaluation confirmed (a check it passed, or a
  copy that agreed, with a trusted answer or one from other credentials on another
  machine).  Its probability is ``safeness`` while n < R, then min(``safeness``, 1 / n),
  never below the floor f = min(``safeness_floor``, ``safeness``).  With f > 0, W's answers
  are never left unchecked more than G − 1 times in a row, G = ceil(1 / f): the G-th is
  checked whatever its u.  A mismatch excludes W (rule 4), so a record is never reset.

With ``safeness`` 1, ``trusted_after`` 10 and floor 0 this is BOINC's policy (replicate
while a host has fewer than 10 consecutive valid results, then with probability 1/n).
The checkpoint keeps the records (``rows`` and ``restore``), so a resumed run goes on
with what it knew: a worker that comes back with the same credentials from the same machine
keeps its n (docs/algorithm.md 8).

Nothing here draws random numbers: the u come from the round, one per batch whatever the
mode, so the verification stream's position depends only on the generations and their sizes.
"""
from __future__ import annotations

import math

import attrs

__all__ = ["Record", "Verification"]


@attrs.define
class Record:
    """What the coordinator knows of one remote identity's answers."""

    validated: int = 0         # answers another evaluation confirmed
    unchecked: int = 0         # first answers accepted unchecked since its last checked one
    checked: int = 0           # first answers that were checked (for reports)
    accepted_unchecked: int = 0    # first answers accepted without a check (for reports)


class Verification:
    """The checking rule of a run: ``safeness`` and, when ``trusted_after`` is set, the
    adaptive rule with ``floor`` (the module docstring)."""

    def __init__(self, safeness: float, trusted_after: int | None = None,
                 floor: float = 0.05):
        self.safeness = float(safeness)
        self.trusted_after = None if trusted_after is None else int(trusted_after)
        self.floor = min(float(floor), self.safeness)
        #: G: an adaptive worker's G-th unchecked answer in a row is checked (None: no bound)
        self.gap = (math.ceil(1.0 / self.floor - 1e-9)
                    if self.adaptive and self.floor > 0 else None)
        self.records: dict[str, Record] = {}

    @classmethod
    def from_config(cls, cfg) -> "Verification":
        return cls(cfg.safeness, cfg.trusted_after, cfg.safeness_floor)

    @property
    def adaptive(self) -> bool:
        return self.trusted_after is not None

    def record(self, key: str) -> Record:
        rec = self.records.get(key)
        if rec is None:
            rec = self.records[key] = Record()
        return rec

    def probability(self, key: str) -> float:
        """The probability that the next first answer of identity ``key`` is checked by
        its u (the forced check of the adaptive rule aside)."""
        if not self.adaptive:
            return self.safeness
        n = self.record(key).validated
        if n < self.trusted_after:
            return self.safeness
        return max(self.floor, min(self.safeness, 1.0 / n))

    def decide(self, key: str, u: float) -> bool:
        """Whether the first answer of ``key`` to a batch whose draw is ``u`` is checked;
        updates the identity's run of unchecked answers."""
        rec = self.record(key)
        checked = u < self.probability(key)
        if not checked and self.gap is not None and rec.unchecked >= self.gap - 1:
            checked = True                       # G − 1 unchecked in a row: this one is
        if checked:
            rec.unchecked = 0
            rec.checked += 1
        else:
            rec.unchecked += 1
            rec.accepted_unchecked += 1
        return checked

    def confirmed(self, key: str) -> None:
        """Another evaluation agreed with an answer of ``key``: its record grows."""
        self.record(key).validated += 1

    def rows(self) -> tuple:
        """Every record as (key, validated, unchecked, checked, accepted_unchecked), by
        key: what a checkpoint keeps."""
        return tuple((key, r.validated, r.unchecked, r.checked, r.accepted_unchecked)
                     for key, r in sorted(self.records.items()))

    def restore(self, rows) -> None:
        """Take back the records of ``rows`` (as ``rows`` gives them)."""
        for key, *counts in rows:
            self.records[str(key)] = Record(*(int(c) for c in counts))
