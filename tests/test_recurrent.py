"""Recurrent networks: the ``recurrent`` extension key (issue 16 item 2).

docs/algorithm.md 3.3 (the add-connection rule with ``recurrent``) and 3.4 (activation with
state: forward genes read this step's values, delayed genes the previous step's), and
docs/decisions.md ("Recurrent networks").  The kernels are checked against their numpy twins
and against a plain-Python reference of the documented semantics.
"""
from __future__ import annotations


import attrs
import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

import ezspark
from ezspark import _core
from ezspark._core import _operators as ops
from ezspark.config.training import TrainingConfig
from ezspark.engine.evolution import Evolution
from ezspark.engine.genome import Genome
from ezspark.engine.innovation import InnovationRegistry
from ezspark.engine.operators import add_connection_candidates, is_acyclic
from ezspark.engine.population import Population
from ezspark.network.champion import Champion
from ezspark.network.programs import Programs, compile_programs
from tests.core.test_reproduce import DictRegistry, RATE_NAMES, make_case
from tests.genomes import grown_genome, initial_genome


def _kernel_sets():
    sets = [_core.load(pure=True)]
    if _core.COMPILED:
        sets.append(_core.load(pure=False))
    return sets


KERNELS = _kernel_sets()
KERNEL_IDS = [k.name for k in KERNELS]


# --- add-connection ------------------------------------------------------------------------

def test_recurrent_candidates_add_outputs_as_sources_self_loops_and_cycles():
    """2 inputs, 1 output, hidden node 4 on 1 -> 4 -> 3: the acyclic rule forbids 3 -> 4,
    4 -> 4 and every pair from the output; the recurrent rule allows them.  Inputs are never
    targets, and an enabled pair is never a candidate."""
    g = Genome([1, 2, 3, 4], [1, 2, 1, 4], [3, 3, 4, 3], [1.0, 1.0, 1.0, 1.0],
               [False, True, True, True])
    assert add_connection_candidates(g, 2, 1) == [(1, 3), (2, 4)]
    assert add_connection_candidates(g, 2, 1, recurrent=True) == [
        (1, 3), (2, 4), (3, 3), (3, 4), (4, 4)]


@pytest.mark.parametrize("kernels", KERNELS, ids=KERNEL_IDS)
@pytest.mark.parametrize("seed", range(40))
def test_recurrent_reproduce_equals_the_reference_operators(kernels, seed):
    """Kernel and twin equal ``_operators.mutate(recurrent=True)`` child by child (with a
    dict registry), on recurrent parents that hold cycles and self-loops."""
    genomes, registry, plan, draws, rates = make_case(seed)
    rng = np.random.default_rng(seed)
    genomes = [grown_genome(rng, registry, int(rng.integers(0, 30)), recurrent=True)
               for _ in range(4)]
    q = int(rng.integers(1, 20))
    plan = {"child_parent": rng.integers(0, 4, q).astype(np.int64),
            "child_simplify": (rng.random(q) < 0.3).astype(np.uint8),
            "child_p_add": rng.choice([0.0, 0.3, 1.0], q)}
    g = int(sum(len(genomes[p]) for p in plan["child_parent"]))
    draws = {"gene_u": rng.random((g, ops.GENE_DRAWS)), "gene_z": rng.standard_normal(g),
             "child_u": rng.random((q, ops.CHILD_DRAWS))}
    registry.ensure_capacity(3 * q, q)
    ref = DictRegistry(registry)
    children = _run_reproduce(kernels, genomes, registry, plan, draws, rates)
    expected, row = [], 0
    for c, p in enumerate(plan["child_parent"].tolist()):
        n = len(genomes[p])
        expected.append(ops.mutate(
            genomes[p], draws["gene_u"][row:row + n], draws["gene_z"][row:row + n],
            draws["child_u"][c], p_add=float(plan["child_p_add"][c]),
            simplify=bool(plan["child_simplify"][c]), registry=ref, recurrent=True,
            **rates))
        row += n
    assert children == Population.from_genomes([Genome(*e) for e in expected])
    ref.assert_same_as(registry)


def _run_reproduce(kernels, genomes, registry, plan, draws, rates, recurrent=True):
    pop = Population.from_genomes(genomes)
    q = plan["child_parent"].shape[0]
    cap = draws["gene_u"].shape[0] + 3 * q
    out = [np.zeros(q + 1, np.int64), np.zeros(cap, np.int32), np.zeros(cap, np.int32),
           np.zeros(cap, np.int32), np.zeros(cap), np.zeros(cap, np.bool_)]
    total = kernels.reproduce(
        pop.off, pop.innovation, pop.src, pop.dst, pop.weight, pop.enabled,
        plan["child_parent"], plan["child_simplify"], plan["child_p_add"],
        draws["gene_u"], draws["gene_z"], draws["child_u"],
        *(rates[name] for name in RATE_NAMES), registry.n_inputs, registry.n_outputs,
        registry.pair_keys, registry.pair_values, registry.split_keys, registry.split_values,
        registry.counters, *out, recurrent=recurrent)
    return Population(out[0], *(column[:total] for column in out[1:]))


def test_recurrent_add_connection_makes_cycles_self_loops_and_output_sources():
    """Over many random add-connections, every kind of new pair appears."""
    rng = np.random.default_rng(0)
    registry = InnovationRegistry(2, 2)
    seen = set()
    for _ in range(30):
        g = grown_genome(rng, registry, 25, recurrent=True)
        pairs = list(zip(g.src.tolist(), g.dst.tolist()))
        assert len(set(pairs)) == len(pairs)
        assert min(g.dst.tolist()) > 2                       # inputs are never targets
        if any(a == b for a, b in pairs):
            seen.add("self-loop")
        if any(3 <= a <= 4 for a, _ in pairs):
            seen.add("output source")
        if not is_acyclic(g):
            seen.add("cycle")
    assert seen == {"self-loop", "output source", "cycle"}


# --- activation ----------------------------------------------------------------------------

def reference_steps(genome: Genome, n_in: int, n_out: int, xs) -> list[list[float]]:
    """docs/algorithm.md 3.4 with state, in plain Python: per step, node n sums w * v over its
    enabled genes in innovation order, v = the source's value of this step for a forward gene
    and of the previous step (0 before the first) for a delayed one; a gene is delayed when it
    closes a cycle among the enabled genes accepted before it in innovation order."""
    sig = _core.load(pure=True).sigmoid
    genes = [(int(a), int(b), float(w)) for a, b, w, e in zip(
        genome.src, genome.dst, genome.weight, genome.enabled) if e]
    after: dict[int, set] = {}
    delayed = []
    for a, b, _ in genes:
        seen, todo, hit = set(), [b], a == b
        while todo and not hit:
            v = todo.pop()
            hit = v == a
            todo.extend(x for x in after.get(v, ()) if x not in seen)
            seen.update(after.get(v, ()))
        delayed.append(hit)
        if not hit:
            after.setdefault(a, set()).add(b)
    prev: dict[int, float] = {}
    out = []
    for x in xs:
        now: dict[int, float] = {i + 1: float(x[i]) for i in range(n_in)}

        def value(n):
            if n not in now:
                s = 0.0
                for (a, b, w), d in zip(genes, delayed):
                    if b == n:
                        s = s + w * (prev.get(a, 0.0) if d else value(a))
                bias = 1.0 if n <= n_in + n_out else 0.0
                now[n] = sig(4.9 * (bias + s))
            return now[n]
        out.append([value(n_in + 1 + j) for j in range(n_out)])
        nodes = {n for a, b, _ in genes for n in (a, b)} | set(range(n_in + 1, n_in + n_out + 1))
        for n in sorted(nodes):
            value(n)
        prev = now
    return out


def random_recurrent(rng, registry, n):
    return [grown_genome(rng, registry, int(rng.integers(0, 25)), recurrent=True)
            for _ in range(n)]


@pytest.mark.parametrize("seed", range(12))
def test_compiled_recurrent_programs_follow_the_reference_semantics(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    registry = InnovationRegistry(n_in, n_out)
    genomes = random_recurrent(rng, registry, 5)
    programs = compile_programs(genomes, n_in, n_out, recurrent=True)
    xs = rng.normal(size=(6, n_in))
    assert seed > 3 or any(not is_acyclic(g) for g in genomes)
    for g, genome in enumerate(genomes):
        rows = programs.with_state(1)
        got = [rows.activate_rows(np.array([g]), x[None])[0].tolist() for x in xs]
        assert got == reference_steps(genome, n_in, n_out, xs)


@pytest.mark.parametrize("seed", range(10))
def test_kernel_and_twin_agree_bit_for_bit_over_many_steps(seed):
    """Random recurrent programs, rows that switch programs and reset at random: the compiled
    kernel and the numpy twin keep the same state and outputs at every step."""
    if not _core.COMPILED:
        pytest.skip("compiled kernels are not built")
    rng = np.random.default_rng(100 + seed)
    n_in, n_out = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    registry = InnovationRegistry(n_in, n_out)
    programs = compile_programs(random_recurrent(rng, registry, 8), n_in, n_out, recurrent=True)
    assert programs.recurrent
    rows = 7
    states = {k.name: programs.with_state(rows) for k in KERNELS}
    row_genome = rng.integers(0, len(programs), rows)
    for step in range(40):
        X = rng.normal(scale=2.0, size=(rows, n_in))
        live = int(rng.integers(1, rows + 1))
        outs = {}
        for k in KERNELS:
            st = states[k.name]
            out = np.empty((live, n_out))
            act = np.empty(live, dtype=np.int64)
            k.activate_state(*programs._state_args, row_genome[:live], X[:live],
                             st.state[:live], out, act)
            outs[k.name] = (out, act)
        (o1, a1), (o2, a2) = outs.values()
        assert o1.tobytes() == o2.tobytes() and np.array_equal(a1, a2)
        s1, s2 = (states[k.name].state for k in KERNELS)
        assert s1.tobytes() == s2.tobytes()
        r = int(rng.integers(rows))
        if rng.random() < 0.3:
            row_genome[r] = rng.integers(len(programs))
            for st in states.values():
                st.reset(r)


def test_a_self_loop_accumulates_as_documented():
    """Input 1 -> hidden 3 (w 1), 3 -> 3 (w 0.5, delayed), 3 -> output 2 (w 2):
    h_t = σ(x_t + 0.5 h_{t-1}), h_0 = 0 before the first step, o_t = σ(2 h_t + 1),
    σ(z) = 1 / (1 + exp(-4.9 z))."""
    genome = Genome([1, 2, 3, 4], [1, 1, 3, 3], [2, 3, 3, 2], [0.0, 1.0, 0.5, 2.0],
                    [False, True, True, True])
    programs = compile_programs([genome], 1, 1, recurrent=True)
    assert programs.in_delay.tolist().count(1) == 1
    rows = programs.with_state(1)
    sig = _core.load(pure=True).sigmoid
    h, expected, got = 0.0, [], []
    for x in (1.0, -0.5, 0.25):
        h = sig(4.9 * (0.0 + (0.0 + 1.0 * x + 0.5 * h)))
        expected.append(sig(4.9 * (1.0 + (0.0 + 2.0 * h))))
        got.append(float(rows.activate_rows(np.zeros(1, np.int64), [[x]])[0, 0]))
    assert got == expected
    assert len(set(got)) == 3           # the state changed what the same weights compute


def test_reset_clears_the_state():
    rng = np.random.default_rng(3)
    registry = InnovationRegistry(2, 2)
    genomes = [g for g in random_recurrent(rng, registry, 20) if not is_acyclic(g)][:3]
    programs = compile_programs(genomes, 2, 2, recurrent=True)
    rows = programs.with_state(3)
    X = rng.normal(size=(3, 2))
    first = rows.activate_rows(np.arange(3), X).copy()
    second = rows.activate_rows(np.arange(3), X)
    assert not np.array_equal(first, second)
    rows.reset([0, 2])
    third = rows.activate_rows(np.arange(3), X)
    assert np.array_equal(third[[0, 2]], first[[0, 2]])
    rows.reset()
    assert not rows.state.any()
    np.testing.assert_array_equal(rows.activate_rows(np.arange(3), X), first)
    assert np.array_equal(programs.activate_rows(np.arange(3), X), first)   # stateless


def test_swap_moves_a_rows_state_with_it():
    rng = np.random.default_rng(4)
    registry = InnovationRegistry(2, 1)
    genomes = [g for g in random_recurrent(rng, registry, 20) if not is_acyclic(g)][:2]
    programs = compile_programs(genomes, 2, 1, recurrent=True)
    a, b = programs.with_state(2), programs.with_state(2)
    X = rng.normal(size=(2, 2))
    a.activate_rows([0, 1], X)
    b.activate_rows([0, 1], X)
    b.swap(0, 1)
    np.testing.assert_array_equal(b.activate_rows([1, 0], X[::-1])[::-1],
                                  a.activate_rows([0, 1], X))


@pytest.mark.parametrize("seed", range(6))
def test_a_recurrent_genome_without_cycles_computes_the_feed_forward_outputs(seed):
    rng = np.random.default_rng(seed)
    registry = InnovationRegistry(3, 2)
    genomes = [grown_genome(rng, registry, 20) for _ in range(6)]      # acyclic
    ff = compile_programs(genomes, 3, 2)
    rec = compile_programs(genomes, 3, 2, recurrent=True)
    assert rec == ff and not rec.recurrent
    rows = rec.with_state(6)
    for _ in range(3):
        X = rng.normal(size=(6, 3))
        np.testing.assert_array_equal(rows.activate_rows(np.arange(6), X),
                                      ff.activate_rows(np.arange(6), X))
    # the stateful kernel itself, on the same (acyclic) programs, gives the same bits
    state = np.zeros((6, int(ff.n_nodes.max())))
    out = np.empty((6, 2))
    _core.activate_state(*ff._state_args, np.arange(6), X, state, out, None)
    assert out.tobytes() == ff.activate_rows(np.arange(6), X).tobytes()


def test_feed_forward_compilation_still_refuses_cycles():
    genome = Genome([1, 2], [1, 2], [2, 2], [1.0, 0.5], [True, True])
    with pytest.raises(ValueError, match="cycle"):
        compile_programs([genome], 1, 1)
    assert compile_programs([genome], 1, 1, recurrent=True).recurrent


# --- training, evaluation, champions, files -----------------------------------------------

class Rising(gymnasium.Env):
    """A task that needs memory: reward 1 when the action (0 or 1) says whether the
    observation rose since the previous step.  A feed-forward network sees only the current
    value (at best about 3/4 of the reward); remembering the previous one solves it."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.prev, self.x = (float(v) for v in self.np_random.uniform(-1, 1, 2))
        return np.array([self.x]), {}

    def step(self, action):
        reward = 1.0 if int(action) == int(self.x > self.prev) else 0.0
        self.prev, self.x = self.x, float(self.np_random.uniform(-1, 1))
        self.t += 1
        return np.array([self.x]), reward, False, self.t >= 20, {}


RISING = "ezspark-tests/Rising-v0"
if RISING not in gymnasium.registry:
    gymnasium.register(RISING, entry_point=Rising)


def rising_config(**keys) -> TrainingConfig:
    base = dict(gym_game_name=RISING, input_size=1, output_size=2, initial_population=100,
                min_population=100, max_population=100, generations=12, max_number_of_games=6,
                max_number_of_steps=20, validation_games=5, species_threshold=2.0,
                add_connection_small_specie_rate=0.3, recurrent=True)
    base.update(keys)
    return TrainingConfig(**base)


def rising_returns(champion, episodes=40) -> float:
    """Mean return of ``champion`` over fresh episodes, played one step at a time through
    its own act() with a reset() at every episode start."""
    env, total = Rising(), 0.0
    for e in range(episodes):
        obs, _ = env.reset(seed=10_000 + e)
        champion.reset()
        done = False
        while not done:
            obs, reward, _, done, _ = env.step(champion.act(obs))
            total += reward
    return total / episodes


@pytest.fixture(scope="module")
def rising_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("rising")
    runs = {rec: ezspark.train(rising_config(recurrent=rec, generations=40), seed=1,
                               out=out / str(rec), progress=False)
            for rec in (False, True)}
    return out, runs


def test_a_recurrent_run_learns_a_task_that_needs_memory(rising_runs):
    """The recurrent run's champion uses state and clearly beats the feed-forward one, and
    the most a memoryless policy can expect (3/4 of 20 steps) on 100 fresh episodes."""
    _, runs = rising_runs
    ff, rec = runs[False].champion, runs[True].champion
    assert rec.recurrent and rec.programs.recurrent and not ff.recurrent
    ff_return, rec_return = rising_returns(ff, 100), rising_returns(rec, 100)
    assert ff_return <= 15.5
    assert rec_return >= 16.5 and rec_return >= ff_return + 1.5


def test_validation_and_play_reset_the_state_at_every_episode(rising_runs):
    """A champion's validation score (lockstep, all episodes batched), play_episodes (one
    env, reset between episodes) and act() with reset() agree exactly: each episode starts
    from the zero state whichever row or process plays it."""
    from ezspark.evaluation.play import episode_returns, play_episodes
    _, runs = rising_runs
    champion = runs[True].champion
    batched = episode_returns(champion, episodes=6, seed=10_000)
    one_by_one = play_episodes(champion, episodes=6, seed=10_000)
    two_workers = episode_returns(champion, episodes=6, seed=10_000, workers=2)
    assert batched == one_by_one == two_workers
    assert np.mean(batched) == rising_returns(champion, episodes=6)


def test_recurrent_champion_act_advances_and_reset_clears():
    genome = Genome([1, 2, 3, 4], [1, 1, 3, 3], [2, 3, 3, 2], [0.0, 1.0, 0.5, 2.0],
                    [False, True, True, True])
    champion = Champion(genome, 1, 1, recurrent=True)
    first = [champion.activate([0.7])[0] for _ in range(3)]
    assert len(set(first)) == 3                      # the self-loop's state moved
    champion.reset()
    assert [champion.activate(np.array([0.7]))[0] for _ in range(3)] == first
    champion.reset()
    batch = champion.activate(np.full((2, 1), 0.7))   # two environments at once
    assert batch[0, 0] == batch[1, 0] == first[0]
    assert champion.activate(np.full((2, 1), 0.7))[1, 0] == first[1]
    feed_forward = Champion(genome, 1, 1)            # the same genes without the key
    with pytest.raises(ValueError, match="cycle"):
        feed_forward.activate([0.7])
    acyclic = Champion(initial_genome(2, 2, [1.0, -1.0, 0.5, 2.0]), 2, 2, recurrent=True)
    before = acyclic.act([0.3, -0.2])
    acyclic.reset()
    assert acyclic.act([0.3, -0.2]) == before == Champion(acyclic.genome, 2, 2).act([0.3, -0.2])


def test_run_h5_and_export_record_a_recurrent_network(rising_runs, tmp_path):
    from ezspark.store.export import champion_from_dict, champion_to_dict
    out, runs = rising_runs
    for rec in (False, True):
        run = ezspark.RunFile.open(out / str(rec) / "run.h5")
        assert run.config.recurrent is rec and run.recurrent is rec
        loaded = ezspark.load_champion(out / str(rec))
        assert loaded.recurrent is rec
        doc = champion_to_dict(loaded)
        assert doc["recurrent"] is rec
        back = champion_from_dict(doc)
        assert back.recurrent is rec and back.genome == loaded.genome
        assert rising_returns(back) == rising_returns(loaded)
    # a self-loop on a hidden node: without "recurrent": true (older files) it is refused
    genome = Genome([1, 2, 3, 4], [1, 1, 3, 3], [2, 3, 3, 2], [0.0, 1.0, 0.5, 2.0],
                    [False, True, True, True])
    doc = champion_to_dict(Champion(genome, 1, 1, recurrent=True))
    assert champion_from_dict(doc).genome == genome
    del doc["recurrent"]
    with pytest.raises(ValueError, match="cycle"):
        champion_from_dict(doc)


def test_resume_of_a_recurrent_run_is_exact(tmp_path):
    cfg = rising_config(generations=8)
    whole = ezspark.train(cfg, seed=5, out=tmp_path / "whole", progress=False)
    ezspark.train(attrs.evolve(cfg, generations=4), seed=5, out=tmp_path / "cut",
                  progress=False)
    resumed = ezspark.train(cfg, out=tmp_path / "cut", resume=True, progress=False)
    strip = lambda h: attrs.evolve(h, seconds=0.0)  # noqa: E731
    assert [strip(h) for h in resumed.history] == [strip(h) for h in whole.history]
    assert resumed.champion.genome == whole.champion.genome


def test_a_short_recurrent_run_makes_cycles_and_self_loops():
    """The networks a recurrent run evaluates come to hold delayed inputs, self-loops among
    them (a delayed input whose source is its own node)."""
    seen = set()

    def fitness(nets):
        assert isinstance(nets, Programs)
        node = np.repeat(np.arange(nets.node_bias.shape[0]), np.diff(nets.in_off))
        program = np.repeat(np.arange(len(nets)), nets.n_nodes)[node]
        own_slot = nets.n_inputs + node - nets.node_off[program]
        delayed = nets.in_delay != 0
        seen.update({"delayed"} if delayed.any() else set())
        seen.update({"self-loop"} if (delayed & (nets.in_src == own_slot)).any() else set())
        return np.arange(len(nets), dtype=float)

    cfg = rising_config(generations=6, add_connection_big_specie_rate=1.0,
                        add_connection_small_specie_rate=1.0, validation_games=0)
    result = ezspark.train(cfg, seed=0, fitness=fitness, progress=False)
    assert seen == {"delayed", "self-loop"}
    assert result.champion.recurrent


@pytest.mark.parametrize("seed", range(3))
def test_without_the_key_no_genome_of_a_run_has_a_cycle(seed):
    cfg = rising_config(recurrent=False, generations=8, add_connection_big_specie_rate=1.0,
                        add_connection_small_specie_rate=1.0, add_node_specie_rate=0.5,
                        validation_games=0)
    evo, pop = Evolution.start(cfg, np.random.default_rng(seed))
    for k in range(cfg.generations):
        genomes = list(pop)
        assert all(is_acyclic(g) for g in genomes)
        assert not any(2 <= a <= 3 for g in genomes for a in g.src.tolist())
        fitness = np.random.default_rng(k).random(len(genomes))
        j, _, _ = evo.observe(fitness)
        pop, _ = evo.reproduce(genomes, fitness, k, j)
