"""Pole balancing (ezspark.poles and its built-in plugin): the physics against an
independent integration of the same system, the published parameters, observations,
failures, the damping fitness, the generalisation grid, ``solved`` and the registration."""
import math
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from ezspark import poles
from ezspark.plugins.manager import get_plugin_manager, make_plugin_manager, plugin_envs
from ezspark.plugins.poles import ENVS

G = 9.8
SCALES6 = np.array(poles.SCALES + poles.SCALES[2:])

# LQR gains, force = gains . state in N, of the linearised systems (Q = diag(1, 1, 10, 1[,
# 10, 1]), R = 0.1, no friction), computed once with scipy.linalg.solve_continuous_are.
SINGLE_GAINS = np.array([3.16227766, 5.91550725, 49.50740504, 12.8443609])
DOUBLE_GAINS = np.array([-3.16227766, -6.87639586, -127.48554922, -33.48948051, 80.59012198,
                         7.29590581])


@pytest.fixture(scope="module", autouse=True)
def registered():
    get_plugin_manager()


def lqr_policy(gains):
    """A policy of the observation with velocities: the LQR force, in units of 10 N."""
    weights = SCALES6[:len(gains)] * gains / poles.FORCE
    return lambda observation: float(weights @ observation)


# --- the physics -------------------------------------------------------------------------
def lagrangian_derivatives(state, force, muc=poles.CART_FRICTION, mup=poles.HINGE_FRICTION):
    """The cart with n uniform rods, from its mass matrix: an independent statement of
    Wieland's equations (g > 0 here, angles from the vertical)."""
    n = len(state) // 2 - 1
    m, half = poles.POLE_MASSES[:n], poles.HALF_LENGTHS[:n]
    theta, omega = state[2::2], state[3::2]
    mass = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    mass[0, 0] = poles.CART_MASS + sum(m)
    rhs[0] = force - muc * np.sign(state[1]) + sum(
        m[i] * half[i] * omega[i] ** 2 * math.sin(theta[i]) for i in range(n))
    for i in range(n):
        mass[0, i + 1] = mass[i + 1, 0] = m[i] * half[i] * math.cos(theta[i])
        mass[i + 1, i + 1] = 4.0 / 3.0 * m[i] * half[i] ** 2
        rhs[i + 1] = m[i] * G * half[i] * math.sin(theta[i]) - mup * omega[i]
    acc = np.linalg.solve(mass, rhs)
    out = np.empty(len(state))
    out[0::2] = state[1::2]
    out[1::2] = acc
    return out


def energy(state):
    n = len(state) // 2 - 1
    dx = state[1]
    total = 0.5 * (poles.CART_MASS + sum(poles.POLE_MASSES[:n])) * dx * dx
    for i in range(n):
        m, half = poles.POLE_MASSES[i], poles.HALF_LENGTHS[i]
        theta, omega = state[2 + 2 * i], state[3 + 2 * i]
        total += (m * half * dx * omega * math.cos(theta) + 2.0 / 3.0 * m * half ** 2 * omega ** 2
                  + m * G * half * math.cos(theta))
    return total


@pytest.mark.parametrize("size", [4, 6])
def test_derivatives_are_the_equations_of_the_cart_with_rods(size):
    rng = np.random.default_rng(size)
    for _ in range(200):
        state, force = rng.uniform(-1.5, 1.5, size), rng.uniform(-10, 10)
        ours = poles.derivatives(state, force)
        assert np.allclose(ours, lagrangian_derivatives(state, force), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("start", [(0.0, 0.3, 0.2, -0.5), (0.0, 0.3, 0.2, -0.5, -0.1, 0.8)])
def test_energy_is_conserved_without_force_or_friction(start):
    state, first = start, energy(start)
    for _ in range(50):          # one second: the poles fall far past the failure angles
        state = poles.step_state(state, 0.0, cart_friction=0.0, hinge_friction=0.0)
        assert abs(energy(state) - first) < 1e-7
    assert abs(state[2]) > 1.0


def integrate(state, force, substeps):
    """One action of 0.02 s by ``substeps`` classical RK4 steps of the mass-matrix equations."""
    h = 0.02 / substeps
    for _ in range(substeps):
        k1 = lagrangian_derivatives(state, force)
        k2 = lagrangian_derivatives(state + h / 2 * k1, force)
        k3 = lagrangian_derivatives(state + h / 2 * k2, force)
        k4 = lagrangian_derivatives(state + h * k3, force)
        state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return state


@pytest.mark.parametrize("n_poles, force, fails_at", [
    (1, 10.0, 10), (1, -10.0, 7), (1, 0.0, 23), (2, 10.0, 5), (2, -10.0, 5), (2, 0.0, 23)])
def test_a_constant_force_fails_when_a_fine_integration_does(n_poles, force, fails_at):
    """Two RK4 steps of 0.01 s per action, as NEAT's and ESP's code; 40 steps of 0.0005 s
    fail at the same step."""
    state = poles.start_state(n_poles)
    coarse = fine = np.array(state)
    fine_fails = None
    for step in range(1, 100):
        state = poles.step_state(state, force)
        coarse, fine = integrate(coarse, force, 2), integrate(fine, force, 40)
        assert np.allclose(state, coarse, rtol=1e-12, atol=1e-14)
        fine_fails = fine_fails or (poles.failed(tuple(fine)) and step)
        if poles.failed(state):
            break
    assert step == fails_at == fine_fails


def test_upright_at_rest_stays_up_for_the_whole_episode():
    for env_id in ENVS:
        env = gymnasium.make(env_id)
        size = 4 if "Single" in env_id else 6
        obs, _ = env.reset(seed=0, options={"state": [0.0] * size})
        total, steps, truncated = 0.0, 0, False
        while not truncated:
            obs, reward, terminated, truncated, _ = env.step(np.zeros(1, np.float32))
            assert not terminated
            total, steps = total + reward, steps + 1
        assert steps == 1000 and not obs.any() and env.unwrapped.state == (0.0,) * size
        if "Damping" not in env_id:
            assert total == 1000


def test_the_parameters_are_the_published_ones():
    assert (poles.GRAVITY, poles.CART_MASS, poles.POLE_MASSES, poles.HALF_LENGTHS) == \
        (-9.8, 1.0, (0.1, 0.01), (0.5, 0.05))
    assert (poles.CART_FRICTION, poles.HINGE_FRICTION, poles.FORCE) == (0.0005, 0.000002, 10.0)
    assert (poles.TAU, poles.SUBSTEPS, poles.TRACK, poles.START_ANGLE) == (0.01, 2, 2.4, 0.07)
    assert poles.FAILURE_ANGLES == {1: math.radians(12), 2: math.radians(36)}
    assert poles.SCALES == (4.8, 2.0, 0.52, 2.0)
    assert (poles.EPISODE_STEPS, poles.BALANCE_STEPS, poles.GENERALISATION_PASS) == \
        (1000, 100_000, 200)


def test_without_cart_friction_the_first_step_is_the_neat_codes():
    """The classical RK4 sums of NEAT's ``rk4``: the cart friction only adds to x''."""
    with_friction = poles.step_state(poles.start_state(2), 10.0)
    without = poles.step_state(poles.start_state(2), 10.0, cart_friction=0.0)
    assert 0 < without[1] - with_friction[1] < 0.02 * 0.0005 / 1.0 * 1.01


# --- observations, actions, failures ------------------------------------------------------
@pytest.mark.parametrize("env_id", list(ENVS))
def test_observations_are_the_scaled_state(env_id):
    env = gymnasium.make(env_id)
    kwargs = ENVS[env_id]
    state = (0.5, -0.4, 0.1, 0.3, -0.05, 0.7)[:2 * kwargs["poles"] + 2]
    obs, _ = env.reset(options={"state": state})
    picks = list(range(0, len(state), 1 if kwargs["velocities"] else 2))
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape == (len(picks),)
    assert np.allclose(obs, np.array(state)[picks] / SCALES6[picks], rtol=1e-6)
    assert env.action_space == gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
    obs, *_ = env.step(np.zeros(1, np.float32))
    assert np.allclose(obs, poles.observe(env.unwrapped.state, kwargs["velocities"]))


def test_reset_is_the_standard_start_and_deterministic():
    env = gymnasium.make("ezspark/DoublePole-v0")
    first, _ = env.reset(seed=1)
    assert env.unwrapped.state == (0.0, 0.0, 0.07, 0.0, 0.0, 0.0)
    assert np.array_equal(first, env.reset(seed=2)[0])
    drawn = [poles.PoleBalancingEnv(random_start=True).reset(seed=s)[0] for s in (3, 3, 4)]
    assert np.array_equal(drawn[0], drawn[1]) and not np.array_equal(drawn[0], drawn[2])
    env = poles.PoleBalancingEnv(random_start=True)
    for seed in range(50):
        env.reset(seed=seed)
        assert all(abs(v) <= r for v, r in zip(env.state, poles.GENERALISATION_RANGES))
        assert env.state[4:] == (0.0, 0.0)


@pytest.mark.parametrize("n_poles, index, bound", [
    (1, 0, 2.4), (1, 2, math.radians(12)), (2, 0, 2.4), (2, 2, math.radians(36)),
    (2, 4, math.radians(36))])
def test_each_bound_fails_beyond_it_not_on_it(n_poles, index, bound):
    for sign in (1.0, -1.0):
        state = [0.0] * (2 * n_poles + 2)
        state[index] = sign * bound
        assert not poles.failed(state)
        state[index] = sign * math.nextafter(bound, 10.0)
        assert poles.failed(state)
        state[index] = sign * (bound + 0.01)
        env = poles.PoleBalancingEnv(poles=n_poles)
        env.reset(options={"state": state})
        _, reward, terminated, truncated, _ = env.step([0.0])
        assert terminated and not truncated and reward == 0.0 and env.balanced == 0


def test_actions_are_clipped_to_ten_newtons():
    def after(action):
        env = poles.PoleBalancingEnv()
        env.reset()
        env.step(action)
        return env.state

    assert after(np.array([7.0], np.float32)) == after([1.0]) == after(1.0)
    assert after([-3.0]) == after([-1.0])
    assert after([0.5]) == poles.step_state(poles.start_state(2), 5.0)
    with pytest.raises(ValueError, match="NaN"):
        after([math.nan])


def test_bad_options_are_refused():
    for kwargs in ({"poles": 3}, {"fitness": "jiggle"}, {"velocities": "no"},
                   {"cart_friction": -1.0}, {"start_angle": math.inf}):
        with pytest.raises(ValueError):
            poles.PoleBalancingEnv(**kwargs)
    with pytest.raises(ValueError, match="6 finite numbers"):
        poles.PoleBalancingEnv().reset(options={"state": [0.0] * 5})


# --- the damping fitness -------------------------------------------------------------------
def gruau_fitness(states):
    """0.1 t / 1000 + 0.9 f2 over the raw states after each of t balanced steps."""
    t = len(states)
    f2 = 0.0
    if t >= 100:
        f2 = 0.75 / sum(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]) for s in states[-100:])
    return 0.1 * t / 1000 + 0.9 * f2


@pytest.mark.parametrize("limit", [1000, 300])
def test_the_damping_return_is_gruaus_fitness(limit):
    env = gymnasium.make("ezspark/DoublePoleNoVelDamping-v0", max_episode_steps=limit)
    env.reset(seed=0)
    states, total, done, rewards = [], 0.0, False, []
    while not done:
        force = DOUBLE_GAINS @ np.array(env.unwrapped.state)
        _, reward, terminated, truncated, _ = env.step([force / poles.FORCE])
        done = terminated or truncated
        states.append(env.unwrapped.state)
        total += reward
        rewards.append(reward)
    assert not terminated and len(states) == limit
    assert math.isclose(total, gruau_fitness(states), rel_tol=1e-9)
    assert rewards[98] == pytest.approx(1e-4) and rewards[99] > 2e-4   # f2 from t = 100
    assert min(rewards) < 0 or limit < 1000                               # it pays changes


def test_the_damping_return_of_a_failed_episode():
    env = gymnasium.make("ezspark/DoublePoleNoVelDamping-v0")
    env.reset(seed=0)
    total, terminated = 0.0, False
    while not terminated:
        _, reward, terminated, _, _ = env.step([0.0])
        total += reward
    assert env.unwrapped.balanced == 22
    assert math.isclose(total, 0.1 * 22 / 1000)


# --- the solved test -----------------------------------------------------------------------
def test_the_generalisation_starts_are_gruaus_grid():
    starts = poles.generalisation_states()
    assert len(starts) == len(set(starts)) == 625
    for axis, r in enumerate((2.16, 1.35, math.radians(3.6), math.radians(8.6))):
        values = sorted({s[axis] for s in starts})
        assert np.allclose(values, [-0.9 * r, -0.5 * r, 0.0, 0.5 * r, 0.9 * r], rtol=1e-15)
    assert np.allclose(starts[0], [-0.9 * r for r in poles.GENERALISATION_RANGES])


def test_an_lqr_controller_solves_the_single_pole_and_a_zero_policy_does_not():
    result = poles.solved(lqr_policy(SINGLE_GAINS), poles=1)
    assert result == poles.SolvedResult(balanced_steps=100_000, generalisation=None,
                                        passed=True)
    zero = poles.solved(lambda observation: 0.0, poles=1)
    assert not zero.passed and zero.balanced_steps == 22


def test_generalisation_counts_starts_and_resets_the_policy_before_each():
    resets = []
    result = poles.solved(lambda observation: np.zeros(1), lambda: resets.append(1),
                          velocities=False)
    # with no force only the 5 starts at rest upright (x' = theta1 = theta1' = 0) stay up
    assert result == poles.SolvedResult(balanced_steps=22, generalisation=5, passed=False)
    assert len(resets) == 626


@pytest.fixture(scope="module")
def pole_champions():
    """Champions of short runs on three pole tasks (one feed-forward, two recurrent with a
    bias input), with the task's (poles, velocities)."""
    import ezspark

    get_plugin_manager()
    found = []
    for env_id, n_in, n_poles, velocities, memory in [
            ("ezspark/DoublePole-v0", 6, 2, True, False),
            ("ezspark/SinglePole-v0", 4, 1, True, True),
            ("ezspark/SinglePoleNoVel-v0", 2, 1, False, True)]:
        cfg = ezspark.TrainingConfig(
            gym_game_name=env_id, input_size=n_in, output_size=1, initial_population=40,
            min_population=40, generations=6, max_number_of_games=1, max_number_of_steps=1000,
            validation_games=0, recurrent=memory, bias_input=memory, add_node_specie_rate=0.3)
        found.append((ezspark.train(cfg, seed=1).champion, n_poles, velocities))
    return found


@pytest.mark.parametrize("options", [
    {"balance_steps": 4000, "generalisation_steps": 200},
    {"start_angle": 0.1, "balance_steps": 4000, "generalisation": True,
     "generalisation_steps": 200, "cart_friction": 0.0}])
def test_a_champion_is_tested_batched_with_the_policy_loops_result(pole_champions, options):
    """solved(champion.act, champion.reset) runs the starts as rows of the compiled kernel;
    the same champion behind a plain function takes the one-episode-at-a-time loop: the
    results are equal, step counts included (runs that fail early, pass, or pass one part)."""
    results = set()
    for champion, n_poles, velocities in pole_champions:
        assert poles._champion_of(champion.act, champion.reset) is champion     # batched
        assert poles._champion_of(champion.act, lambda: None) is None           # the loop
        # without a reset, only a network without state can run batched
        assert (poles._champion_of(champion.act, None) is champion) \
            is (not champion.programs.recurrent)
        fast = poles.solved(champion.act, champion.reset, poles=n_poles, velocities=velocities,
                            **options)
        slow = poles.solved(lambda o: champion.act(o), champion.reset, poles=n_poles,
                            velocities=velocities, **options)
        assert fast == slow
        results.add(fast.passed)
    assert results == {True, False}


def test_an_lqr_controller_balances_the_double_pole():
    env = gymnasium.make("ezspark/DoublePole-v0")
    observation, _ = env.reset(seed=0)
    policy, total, done = lqr_policy(DOUBLE_GAINS), 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step([policy(observation)])
        total, done = total + reward, terminated or truncated
    assert total == 1000 and not terminated
    assert poles.solved(policy, balance_steps=5_000).passed


# --- registration --------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", list(ENVS))
def test_the_builtin_plugin_registers_each_env(env_id):
    assert plugin_envs()[env_id] == ("ezspark.plugins.poles", "ezspark.poles:PoleBalancingEnv")
    spec = gymnasium.spec(env_id)
    assert spec.max_episode_steps == 1000 and spec.kwargs == ENVS[env_id]
    assert spec.reward_threshold == (None if "Damping" in env_id else 1000.0)
    check_env(gymnasium.make(env_id).unwrapped)


def test_another_manager_registers_them_again_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pm = make_plugin_manager(autoload=False)
    assert set(ENVS) <= set(plugin_envs(pm))
