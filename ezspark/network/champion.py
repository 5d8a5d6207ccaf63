"""A trained network, ready to act: what ``train`` returns and ``load_champion`` loads."""
from __future__ import annotations

import numpy as np

from ezspark.engine.genome import Genome
from ezspark.network.actions import BoxActions
from ezspark.network.programs import compile_programs

__all__ = ["Champion"]


class Champion:
    """The best genome of one generation, compiled for use.

    ``activate(observation)`` returns the ``output_size`` outputs (docs/algorithm.md 3.4) of one
    observation, or an array (rows, output_size) for a 2-D batch of flattened observations.
    ``act(observation)`` returns the action index j: the lowest index of the largest output
    (an environment whose Discrete space starts at s receives j + s; ``play`` adds it).  A
    champion of a continuous (``Box``) action space has ``actions`` (its BoxActions): its
    outputs have no +1 bias and ``act`` returns the action array (docs/algorithm.md 3.4).
    One observation goes through ``network`` (the compiled single-row path: well under a
    microsecond of overhead per call); a batch through one batched kernel call.

    A ``recurrent`` champion whose network has a cycle remembers (docs/algorithm.md 3.4):
    every ``activate``/``act`` call is one step and advances its state; a 2-D batch of n rows
    is n environments stepped together, each with its own state (a batch of another size
    starts from the zero state).  ``reset()`` clears the state: call it at every episode
    start.  For a feed-forward champion ``reset()`` does nothing.

    With ``bias_input`` (the run's key) the last of the ``n_inputs`` input nodes is the bias,
    always 0.5 (docs/algorithm.md 3.4): an observation has ``observation_size`` =
    ``n_inputs`` - 1 values.
    """

    __slots__ = ("genome", "n_inputs", "n_outputs", "generation", "fitness", "species",
                 "env_id", "validation", "validation_steps", "recurrent", "bias_input",
                 "_states", "actions", "_programs", "_network")

    def __init__(self, genome: Genome, n_inputs: int, n_outputs: int, *, generation: int = -1,
                 fitness: float = float("nan"), species: int = -1, env_id: str | None = None,
                 validation: float = float("nan"), actions: BoxActions | None = None,
                 recurrent: bool = False, bias_input: bool = False):
        self.genome = genome
        self.n_inputs = int(n_inputs)
        self.n_outputs = int(n_outputs)
        self.generation = int(generation)
        self.fitness = float(fitness)
        self.species = int(species)
        self.env_id = env_id
        # mean return over the run's validation episodes (docs/algorithm.md 6.5); NaN: none
        self.validation = float(validation)
        self.validation_steps = 0       # env steps the validation cost in this process
        self.recurrent = bool(recurrent)   # the run's recurrent key (docs/algorithm.md 3.3)
        self.bias_input = bool(bias_input)  # the run's bias_input key (docs/algorithm.md 3.1)
        self._states = None                # RowStates of a recurrent network, or None
        self.actions = actions
        self._programs = None
        self._network = None

    @property
    def programs(self):
        if self._programs is None:
            bias = {} if self.actions is None else {"output_bias": self.actions.output_bias}
            self._programs = compile_programs([self.genome], self.n_inputs, self.n_outputs,
                                              recurrent=self.recurrent,
                                              bias_input=self.bias_input, **bias)
        return self._programs

    @property
    def network(self):
        """The compiled network for single-row calls (``Programs.network``)."""
        if self._network is None:
            self._network = self.programs.network(0)
        return self._network

    @property
    def observation_size(self) -> int:
        """Values of one observation: the input nodes, less the bias input if there is one."""
        return self.n_inputs - self.bias_input

    def _is_single(self, observation) -> bool:
        """One observation (not a 2-D batch of rows with observation_size columns)."""
        kind = type(observation)
        if kind is np.ndarray:
            return observation.ndim != 2 or observation.shape[1] != self.observation_size
        if kind is list or kind is tuple:
            return not observation or not isinstance(observation[0], (list, tuple, np.ndarray))
        return False

    def _rows(self, observation) -> tuple[np.ndarray, bool]:
        x = np.asarray(observation, dtype=np.float64)
        size = self.observation_size
        if x.ndim == 2 and x.shape[1] == size:
            return np.ascontiguousarray(x), True
        flat = x.reshape(-1)
        if flat.shape[0] != size:
            bias = " and a bias input" if self.bias_input else ""
            raise ValueError(f"observation has {flat.shape[0]} values but the network has "
                             f"{size} inputs{bias}")
        return flat.reshape(1, -1), False

    def reset(self) -> None:
        """Clear the recurrent state (a new episode); nothing to do for a feed-forward
        network."""
        self._states = None

    def _step(self, rows: np.ndarray) -> np.ndarray:
        """One step of a recurrent network on n rows, each with its own state."""
        n = rows.shape[0]
        if self._states is None or self._states.state.shape[0] != n:
            self._states = self.programs.with_state(n)
        return self._states.activate_rows(np.zeros(n, dtype=np.int64), rows)

    def activate(self, observation) -> np.ndarray:
        stateful = self.programs.recurrent
        if self._is_single(observation) and not stateful:
            return self.network.activate(observation)
        rows, batch = self._rows(observation)
        out = self._step(rows) if stateful else self.programs.activate(rows)[0]
        return out if batch else out[0]

    def act(self, observation):
        if self.actions is not None:
            return self.actions.of(self.activate(observation))
        if self._is_single(observation) and not self.programs.recurrent:
            return self.network.act(observation)
        out = self.activate(observation)
        if out.ndim == 2:
            return np.argmax(out, axis=1)
        return int(np.argmax(out))

    @property
    def hidden_nodes(self) -> np.ndarray:
        return self.genome.hidden_nodes(self.n_inputs, self.n_outputs)

    @property
    def num_nodes(self) -> int:
        return self.n_inputs + self.n_outputs + int(self.hidden_nodes.shape[0])

    @property
    def num_connections(self) -> int:
        return int(self.genome.enabled.sum())

    def __repr__(self) -> str:
        return (f"Champion(generation={self.generation}, fitness={self.fitness:.6g}, "
                f"nodes={self.num_nodes}, enabled connections={self.num_connections}"
                f"{', env=' + self.env_id if self.env_id else ''})")
