"""Bare gymnasium CartPole-v1 loops: what stepping the environment costs with no learning.

Policy ``action = 1 if obs[2] > 0 else 0`` (push toward the side the pole leans, nearly free),
resets included: an evaluator that reaches these rates adds nothing to the environment's own
cost.  Each ``make_*`` returns ``(run_chunk, steps_per_chunk)``; ``run_chunk()`` plays that
many individual env steps, carrying the episode over from call to call.
"""
import gymnasium as gym

CHUNK = 2000


def make_single_gym():
    """``gym.make("CartPole-v1")`` with its default wrappers (TimeLimit, OrderEnforcing,
    PassiveEnvChecker), ``env.step`` in a Python loop: the per-core limit of a Python loop."""
    env = gym.make("CartPole-v1")
    state = {"obs": env.reset(seed=0)[0]}
    step, reset = env.step, env.reset

    def run_chunk():
        obs = state["obs"]
        for _ in range(CHUNK):
            obs, r, term, trunc, _ = step(1 if obs[2] > 0 else 0)
            if term or trunc:
                obs, _ = reset()
        state["obs"] = obs

    return run_chunk, CHUNK


def make_single_unwrapped():
    """The same ``CartPoleEnv`` without wrappers (``env.unwrapped``), the 500-step cap done
    by hand."""
    env = gym.make("CartPole-v1").unwrapped
    state = {"obs": env.reset(seed=0)[0], "t": 0}
    step, reset = env.step, env.reset

    def run_chunk():
        obs, t = state["obs"], state["t"]
        for _ in range(CHUNK):
            obs, r, term, trunc, _ = step(1 if obs[2] > 0 else 0)
            t += 1
            if term or t >= 500:
                obs, _ = reset()
                t = 0
        state["obs"], state["t"] = obs, t

    return run_chunk, CHUNK
