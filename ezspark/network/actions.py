"""Continuous actions: how a network's outputs become a bounded ``Box`` action
(docs/algorithm.md 3.4).

Output j of a network for a ``Box(low, high, (n,))`` action space has no +1 bias:
o_j = σ(s_j), in [0, 1], so a network whose outputs receive nothing asks for the middle of
every range.  Action component j is low_j + o_j·(high_j − low_j), clipped to [low_j, high_j]
(rounding only) and cast to the space's dtype.  Discrete actions are unchanged: the argmax of
the outputs, which keep EzSpark's +1 bias.
"""
from __future__ import annotations

import json
import math

import attrs
import numpy as np

__all__ = ["BOX_OUTPUT_BIAS", "BoxActions", "box_actions", "box_problem"]

#: The fixed bias of the output nodes of a continuous-action network (EzSpark's is +1, which
#: argmax ignores but a range would not: σ(0 + 1) is 0.993 of it).
BOX_OUTPUT_BIAS = 0.0


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1))


@attrs.frozen
class BoxActions:
    """The bounds of a ``Box`` action space of shape (n,) and its dtype."""

    low: tuple[float, ...] = attrs.field(converter=_floats)
    high: tuple[float, ...] = attrs.field(converter=_floats)
    dtype: str = "float32"

    def __attrs_post_init__(self):
        if not self.low or len(self.low) != len(self.high):
            raise ValueError(f"low and high must have one length >= 1 (got {len(self.low)} "
                             f"and {len(self.high)})")
        if not all(math.isfinite(v) for v in self.low + self.high):
            raise ValueError("every bound must be finite")
        if any(lo > hi for lo, hi in zip(self.low, self.high)):
            raise ValueError("low must not exceed high")
        np.dtype(self.dtype)          # TypeError for a name numpy does not know

    @property
    def size(self) -> int:
        return len(self.low)

    @property
    def output_bias(self) -> float:
        return BOX_OUTPUT_BIAS

    def of(self, outputs) -> np.ndarray:
        """The actions of outputs in [0, 1]: one row (n,) or rows (R, n)."""
        low, high = np.asarray(self.low), np.asarray(self.high)
        out = np.asarray(outputs, dtype=np.float64)
        return np.clip(low + out * (high - low), low, high).astype(self.dtype)

    def to_json(self) -> str:
        return json.dumps({"kind": "box", "low": list(self.low), "high": list(self.high),
                           "dtype": self.dtype})

    @classmethod
    def from_json(cls, text: str) -> "BoxActions":
        data = json.loads(text)
        return cls(data["low"], data["high"], str(data.get("dtype", "float32")))

    def __str__(self) -> str:
        pairs = ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in zip(self.low, self.high))
        return f"{self.size} continuous action{'s' if self.size != 1 else ''} in {pairs}"


def box_problem(space) -> str | None:
    """Why a ``Box`` action space cannot be trained, in a few words naming it; None if it can
    (shape (n,) with n ≥ 1 and every bound finite)."""
    if len(space.shape) != 1 or space.shape[0] < 1:
        return f"Box actions of shape {tuple(space.shape)} ({space}; only shape (n,) is trained)"
    if not (all(math.isfinite(v) for v in np.asarray(space.low, dtype=np.float64))
            and all(math.isfinite(v) for v in np.asarray(space.high, dtype=np.float64))):
        return f"unbounded Box actions ({space}; every bound must be finite)"
    return None


def box_actions(space) -> BoxActions:
    """The BoxActions of a trainable ``Box`` space (ValueError naming it otherwise)."""
    problem = box_problem(space)
    if problem is not None:
        raise ValueError(problem)
    return BoxActions(space.low, space.high, np.dtype(space.dtype).name)
