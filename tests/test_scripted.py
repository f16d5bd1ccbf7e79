"""The scripted experts reach their task's goal (they are the demonstrators of benchmarks)."""

import jax
import numpy as np

from jgail import demos, envs, scripted


def test_the_continuous_mountain_car_controller_reaches_the_goal_in_every_episode():
    env = envs.make("MountainCarContinuous-v0")
    data = demos.collect(jax.random.key(0), env, scripted.scripted_policy("MountainCarContinuous-v0"), 8)
    lengths = np.asarray(data.episode_lengths)
    # The goal pays +100 and ends the episode; each step costs 0.1 * action^2 = 0.1 at full force.
    assert np.all(lengths < env.max_episode_steps), lengths
    np.testing.assert_allclose(data.episode_returns, 100 - 0.1 * lengths, atol=0.2)
