"""GridMazeEnv: find the exit of a small grid maze."""
from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces

__all__ = ["GridMazeEnv", "DEFAULT_MAZE"]

#: The fixed 7x7 maze (``#`` wall, ``.`` floor, ``S`` start, ``G`` goal).  Row 0 is the top.
#: A perfect maze (one path between any two cells): from S the left corridor leads straight
#: to the bottom row (12 moves to G); the farthest cell, (row 2, column 4) at the end of the
#: dead-end branch in the top-right corner, is 18 moves from G.
DEFAULT_MAZE = (
    "S#.....",
    ".#.###.",
    ".#.#...",
    ".#.####",
    ".#.....",
    ".#####.",
    "......G",
)

# Action -> (row delta, column delta): 0 up, 1 right, 2 down, 3 left.
_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)


class GridMazeEnv(gym.Env):
    """
    ## Description

    An agent walks through a small grid maze, one cell per step, until it stands on the
    goal cell.  The default maze is a fixed 7x7 layout (``DEFAULT_MAZE``; ``#`` walls,
    ``G`` the goal in the bottom-right corner, ``S`` the start cell used when
    ``random_start=False``)::

        S#.....
        .#.###.
        .#.#...
        .#.####
        .#.....
        .#####.
        ......G

    It is a perfect maze (one path between any two cells).  From the left corridor the
    goal is straight down and then right; from the right part the way winds down the
    third column and along the fifth row, and a branch in the top-right corner is a dead
    end that must be left by going up and left, away from the goal.  The agent sees its
    position, the direction of the goal and the walls around it, but has no memory of
    where it came from, so a policy must tell the regions of the maze apart by position.

    By default (``random_start=True``) each episode starts on a floor cell drawn with
    ``self.np_random``, so a policy has to find the goal from everywhere in the maze.
    With ``random_maze=True`` every reset also builds a new perfect maze (a randomised
    depth-first search with ``self.np_random``) on the same grid, start in the top-left
    corner and goal in the bottom-right one.  With a fixed reset seed the maze, the start
    and every step are deterministic.

    ## Action Space

    ``Discrete(4)``: 0 up, 1 right, 2 down, 3 left.  A move into a wall or off the grid
    leaves the agent where it is (a bump), and still costs a step.

    ## Observation Space

    ``Box(low, high, shape=(8,), dtype=float32)``:

    | index | observation                                          | min | max |
    |-------|------------------------------------------------------|-----|-----|
    | 0     | agent column / (width - 1)                           | 0   | 1   |
    | 1     | agent row / (height - 1)                             | 0   | 1   |
    | 2     | (goal column - agent column) / (width - 1)           | -1  | 1   |
    | 3     | (goal row - agent row) / (height - 1)                | -1  | 1   |
    | 4..7  | 1 if the neighbour up / right / down / left is a wall or off the grid, else 0 | 0 | 1 |

    ## Rewards

    -0.01 for every step that does not reach the goal, +1 for the step that reaches it.
    A walk of n moves therefore returns 1 - 0.01 (n - 1): from ``S`` the shortest path
    (12 moves) returns 0.89, from the farthest cell (18 moves) 0.83, and an agent that
    never arrives within the registered 100 steps returns -1.

    ## Starting State

    Any floor cell other than the goal, drawn uniformly with ``self.np_random``
    (``random_start=True``, the default), or the start cell ``S`` (top-left corner) with
    ``random_start=False``.

    ## Episode End

    - Termination: the agent reaches the goal cell.
    - Truncation: ``ezspark_gridmaze/GridMaze-v0`` is registered with
      ``max_episode_steps=100``.

    ## Arguments

    ```python
    gymnasium.make("ezspark_gridmaze/GridMaze-v0", render_mode="ansi",
                   random_start=True, random_maze=False, maze=None)
    ```

    ``maze`` is a sequence of equal-length strings in the format of ``DEFAULT_MAZE``
    (exactly one ``S`` and one ``G``); it is ignored when ``random_maze`` is set.
    ``render_mode`` is ``None`` or ``"ansi"`` (the maze as text, the agent shown as
    ``A``).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    STEP_REWARD = -0.01
    GOAL_REWARD = 1.0

    def __init__(self, render_mode: str | None = None, *, maze=None,
                 random_maze: bool = False, random_start: bool = True):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of "
                             f"{self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.random_maze = bool(random_maze)
        self.random_start = bool(random_start)
        layout = DEFAULT_MAZE if maze is None else tuple(maze)
        self._walls, self._start, self._goal = _parse(layout)
        self.height, self.width = self._walls.shape
        if self.random_maze and (self.height % 2 == 0 or self.width % 2 == 0):
            raise ValueError("random_maze needs an odd number of rows and columns")
        self._scale = np.array([max(self.width - 1, 1), max(self.height - 1, 1)],
                               dtype=np.float32)
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Box(
            low=np.array([0, 0, -1, -1, 0, 0, 0, 0], dtype=np.float32),
            high=np.ones(8, dtype=np.float32), dtype=np.float32)
        self._agent = self._start

    # -- gymnasium API ---------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.random_maze:
            self._walls = _perfect_maze(self.height, self.width, self.np_random)
            self._start, self._goal = (0, 0), (self.height - 1, self.width - 1)
        if self.random_start:
            floor = np.argwhere(~self._walls)
            floor = floor[[(r, c) != self._goal for r, c in floor]]
            r, c = floor[self.np_random.integers(len(floor))]
            self._agent = (int(r), int(c))
        else:
            self._agent = self._start
        return self._observation(), self._info()

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        dr, dc = _MOVES[int(action)]
        r, c = self._agent[0] + int(dr), self._agent[1] + int(dc)
        bumped = self._blocked(r, c)
        if not bumped:
            self._agent = (r, c)
        terminated = self._agent == self._goal
        reward = self.GOAL_REWARD if terminated else self.STEP_REWARD
        info = self._info()
        info["bumped"] = bumped
        return self._observation(), reward, terminated, False, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("GridMazeEnv.render() was called without a render_mode; "
                            "make the env with render_mode='ansi'")
            return None
        return self._text()

    # -- helpers ---------------------------------------------------------------------

    def _blocked(self, r: int, c: int) -> bool:
        return not (0 <= r < self.height and 0 <= c < self.width) or bool(self._walls[r, c])

    def _observation(self) -> np.ndarray:
        r, c = self._agent
        gr, gc = self._goal
        walls = [self._blocked(r + int(dr), c + int(dc)) for dr, dc in _MOVES]
        obs = np.empty(8, dtype=np.float32)
        obs[0:2] = np.array([c, r], dtype=np.float32) / self._scale
        obs[2:4] = np.array([gc - c, gr - r], dtype=np.float32) / self._scale
        obs[4:8] = walls
        return obs

    def _info(self) -> dict:
        return {"position": self._agent}

    def _text(self) -> str:
        rows = []
        for r in range(self.height):
            line = []
            for c in range(self.width):
                if (r, c) == self._agent:
                    line.append("A")
                elif (r, c) == self._goal:
                    line.append("G")
                elif self._walls[r, c]:
                    line.append("#")
                else:
                    line.append(".")
            rows.append("".join(line))
        return "\n".join(rows) + "\n"


def _parse(layout):
    if not layout or len({len(row) for row in layout}) != 1 or not layout[0]:
        raise ValueError("a maze is a non-empty sequence of strings of equal length")
    walls = np.zeros((len(layout), len(layout[0])), dtype=bool)
    start = goal = None
    for r, row in enumerate(layout):
        for c, ch in enumerate(row):
            if ch == "#":
                walls[r, c] = True
            elif ch == "S":
                if start is not None:
                    raise ValueError("a maze has exactly one S")
                start = (r, c)
            elif ch == "G":
                if goal is not None:
                    raise ValueError("a maze has exactly one G")
                goal = (r, c)
            elif ch != ".":
                raise ValueError(f"unknown maze character {ch!r} (use # . S G)")
    if start is None or goal is None:
        raise ValueError("a maze has exactly one S and one G")
    return walls, start, goal


def _perfect_maze(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Walls of a perfect maze: rooms on even (row, column), carved by a randomised
    depth-first search from the top-left room."""
    walls = np.ones((height, width), dtype=bool)
    walls[0, 0] = False
    stack = [(0, 0)]
    while stack:
        r, c = stack[-1]
        options = [(r + 2 * dr, c + 2 * dc, dr, dc) for dr, dc in _MOVES
                   if 0 <= r + 2 * dr < height and 0 <= c + 2 * dc < width
                   and walls[r + 2 * dr, c + 2 * dc]]
        if not options:
            stack.pop()
            continue
        nr, nc, dr, dc = options[int(rng.integers(len(options)))]
        walls[r + dr, c + dc] = False
        walls[nr, nc] = False
        stack.append((nr, nc))
    return walls
