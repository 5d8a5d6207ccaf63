"""Following a ``run.h5`` while its run writes it: the new history rows of each poll, then
how the run ended.

The file is opened afresh at every poll and closed at once, never held open: a reader
holding it would keep the writer from recording the end of the run (the writer reopens
the file without SWMR for that, and HDF5's file lock refuses it while a reader holds the
file), and a resume renames a new file over run.h5, which a held handle would never see.
Files are opened without HDF5's file lock for the same reason.  An open that fails while
the writer is between two states (creating the file, or writing the end attributes) is
tried again at the next poll.

The run has ended once the root attribute ``status`` is no longer "running" (format 1
files and files from before the attribute existed have always ended).  The writer records
it only after its last rows, so the rows read with an ended status are the last ones.  A
run killed before its end never records it: a follower of such a file waits for ever.
"""
from __future__ import annotations

import json
import time

import h5py
import numpy as np

from ezspark.store.history import GenerationStats
from ezspark.store.layout import StoreError, stats_from_rows
from ezspark.store.reader import checked_path, config_text, root_attrs

__all__ = ["RunFollower"]

#: history rows returned by one poll at most (a long run's history is read in slices)
MAX_ROWS = 10_000


class RunFollower:
    """Polls a run.h5: ``poll()`` returns the generations written since the last poll, in
    order, each once (also across a resume that trims and rewrites the file); ``end`` is
    then None while the run goes on, else its end attributes and ``config``."""

    def __init__(self, path, patience: float = 30.0):
        self.path = checked_path(path)   # a clear error for a missing or foreign file
        self.patience = float(patience)    # seconds of failing opens before giving up
        self.end: dict | None = None
        self.last_generation = -1
        self._position = 0                 # rows of the current file already read
        self._failing_since: float | None = None

    def poll(self) -> list[GenerationStats]:
        """The new generations (at most MAX_ROWS; call again without waiting while that
        many come back)."""
        try:
            with h5py.File(self.path, "r", swmr=True, locking=False) as f:
                ended, rows = self._read(f)
        except (OSError, RuntimeError, KeyError) as exc:
            return self._failed(exc)
        self._failing_since = None
        if ended is not None and self._position >= ended["rows"]:
            self.end = ended
        new = rows[rows["generation"] > self.last_generation]
        if new.shape[0]:
            self.last_generation = int(new["generation"][-1])
        return stats_from_rows(new)

    def _read(self, f: h5py.File) -> tuple[dict | None, np.ndarray]:
        """The end attributes (None: still running; read before the rows, which are then
        complete) and the next rows of the history."""
        if "format_version" not in f.attrs or "history" not in f:
            raise StoreError(f"{self.path} is an HDF5 file but not an ezspark run "
                             "(no format_version or /history)")
        attrs_ = root_attrs(f)
        history = f["history"]
        size = history.shape[0]
        ended = None
        if attrs_.get("status", "ended") != "running":
            attrs_["config"] = json.loads(config_text(f))
            ended = dict(attrs_, rows=size)
        self._position = min(self._position, size)  # a resume trimmed the file
        rows = history[self._position:min(size, self._position + MAX_ROWS)]
        self._position += rows.shape[0]
        return ended, rows

    def _failed(self, exc: Exception) -> list:
        """An open that failed: the writer between two states, unless it lasts."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if not self.path.exists() or now - self._failing_since > self.patience:
            raise StoreError(f"{self.path} cannot be read as an ezspark run: {exc}") from exc
        return []
