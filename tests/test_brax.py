"""brax locomotion through the `Env` interface, and GAIL on a brax task.

Each env test compiles one small program (two resets, one step at a 1-step episode cap),
compiled with light LLVM passes (one step needs no optimised code), for six of the nine envs;
the other three are checked for their shapes only.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import demos, envs, evaluation, gail, presets, scripted
from jgail.core.distributions import random_policy

# (observation size, action size) of brax's versions of the paper's tasks (spring backend).
BRAX_SHAPES = {
    "hopper": (11, 3),
    "walker2d": (17, 6),
    "halfcheetah": (17, 6),
    "ant": (27, 8),
    "humanoid": (244, 17),
    "humanoidstandup": (244, 17),
    "reacher": (11, 2),
    "inverted_pendulum": (4, 1),
    "inverted_double_pendulum": (8, 1),
}


QUICK_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def reset_twice_then_step(env):
    """Two resets from different keys, then one step of the first start (at a 1-step cap
    the step ends the episode, so its `obs` is the next episode's start)."""

    def run(key):
        k_reset, k_action, k_step = jax.random.split(key, 3)
        starts, state = jax.vmap(env.reset)(jax.random.split(k_reset, 2))
        first = jax.tree.map(lambda x: x[0], state)
        action = jax.random.uniform(k_action, env.action_space.shape, minval=-1.0, maxval=1.0)
        _, step = env.step(k_step, first, action)
        return starts, step

    # Optimised code is not needed for one step: light LLVM passes compile humanoid in ~6 s, not ~10 s.
    key = jax.random.key(0)
    return jax.jit(run).lower(key).compile(compiler_options=QUICK_COMPILE)(key)


# The envs whose one step is compiled below; the others share their wrapper and system type
# (walker2d and halfcheetah: hopper's planar chain; humanoidstandup: humanoid's body) and are
# checked for their shapes only, which compiles nothing.
STEPPED = ("hopper", "ant", "humanoid", "reacher", "inverted_pendulum", "inverted_double_pendulum")


def check_shapes(env, name):
    obs_dim, action_dim = BRAX_SHAPES[name]
    assert env.obs_shape == (obs_dim,) and env.obs_dim == obs_dim
    space = env.action_space
    assert not space.discrete and space.shape == (action_dim,) and space.action_dim == action_dim
    assert space.low == (-1.0,) * action_dim and space.high == (1.0,) * action_dim


def test_the_other_brax_envs_have_their_shapes():
    for name in sorted(set(BRAX_SHAPES) - set(STEPPED)):
        check_shapes(envs.make(f"brax/{name}", max_episode_steps=1), name)


@pytest.mark.parametrize("name", STEPPED)
def test_brax_env_steps_with_its_shapes_and_resets_to_fresh_random_states(name):
    env = envs.make(f"brax/{name}", max_episode_steps=1)
    check_shapes(env, name)
    obs_dim = BRAX_SHAPES[name][0]

    starts, step = reset_twice_then_step(env)
    assert starts.shape == (2, obs_dim) and starts.dtype == jnp.float32
    assert step.obs.shape == step.final_obs.shape == (obs_dim,)
    assert step.reward.shape == () and np.isfinite(step.reward)
    assert np.isfinite(np.asarray(step.final_obs)).all()
    # One step at a 1-step cap is a time-limit end (truncated, not terminated) of length 1.
    assert bool(step.truncated) and not bool(step.terminated) and int(step.episode_length) == 1
    # Different keys give different starts, and the episode after an end starts afresh:
    # neither the first start again (brax's own auto-reset reuses it) nor the pre-reset state.
    first, second = np.asarray(starts)
    next_start = np.asarray(step.obs)
    assert np.abs(first - second).max() > 1e-4
    assert np.abs(next_start - first).max() > 1e-4
    assert np.abs(next_start - np.asarray(step.final_obs)).max() > 1e-4


# ---------------------------------------------------------------- GAIL on inverted_pendulum

PENDULUM = envs.make("brax/inverted_pendulum", max_episode_steps=200)


@pytest.mark.slow
def test_gail_learns_brax_inverted_pendulum_far_above_a_random_policy():
    data = demos.collect(jax.random.key(0), PENDULUM, scripted.inverted_pendulum, 4, greedy=True)
    assert np.all(data.episode_returns == 200)
    expert = demos.to_jax(data)
    config = presets.gail_config(PENDULUM, "ppo").replace(num_envs=16, num_steps=64,
                                                          total_timesteps=16 * 64 * 60)

    def train_and_evaluate(key):
        state, _ = gail.train(key, config, expert)
        nets, params, stats = config.nets, state.agent.params, state.obs_stats
        return evaluation.evaluate(key, PENDULUM, nets, params, stats, 32)["mean_return"]

    scores = np.asarray(jax.jit(jax.vmap(train_and_evaluate))(jax.random.split(jax.random.key(1), 2)))
    random = float(evaluation.evaluate_fn(jax.random.key(2), PENDULUM, random_policy(PENDULUM.action_space),
                                          32)["mean_return"])
    assert random < 40, random
    # Measured: 146 and 180 (61k steps, 2 seeds); with absorbing states 186 and 196.
    assert np.all(scores >= 5 * random) and scores.mean() >= 120, (scores, random)


def test_brax_swimmer_runs_on_its_one_backend_and_other_backends_are_refused_naming_it():
    # brax builds swimmer on "generalized" only, whose fluid drag calls jnp.clip(a_min=...), which
    # jax 0.10 removed: jgail picks that backend by default and maps the keyword for brax.fluid.
    env = envs.make("brax/swimmer", max_episode_steps=1)
    assert env.spec()["env_options"]["backend"] == "generalized" and env.obs_shape == (8,)
    starts, step = reset_twice_then_step(env)
    assert starts.shape == (2, 8) and np.all(np.isfinite(step.final_obs)) and np.isfinite(float(step.reward))
    with pytest.raises(ValueError, match="does not run on brax's 'spring' backend.*--backend generalized"):
        envs.make("brax/swimmer", backend="spring")
