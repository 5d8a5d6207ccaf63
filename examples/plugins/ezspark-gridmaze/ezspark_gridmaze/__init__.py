"""ezspark-gridmaze: an example ezspark plugin package.

It adds the gymnasium environment ``ezspark_gridmaze/GridMaze-v0`` (a small grid maze,
see ``ezspark_gridmaze.env.GridMazeEnv``) and a reporter that writes the history of every
ezspark run to ``history.csv`` beside its ``run.h5``.  ezspark finds it through the entry
point ``[project.entry-points.ezspark] gridmaze = "ezspark_gridmaze.plugin"``.
"""
__version__ = "0.1.0"
