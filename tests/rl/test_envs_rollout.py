import gymnasium as gym
import numpy as np
import pytest

from glassnet.errors import ConfigError
from glassnet.rl import envs
from glassnet.rl.rollout import evaluate, run_episodes

from .conftest import Line


def test_pinned_ids_exist_and_make_is_seeded():
    assert all(env_id in gym.registry for env_id in envs.PINNED_IDS)
    a, b = envs.make(envs.CART_POLE, seed=5), envs.make(envs.CART_POLE, seed=5)
    assert np.array_equal(a.reset()[0], b.reset()[0])
    assert a.action_space.sample() == b.action_space.sample()
    with pytest.raises(ConfigError, match="make: env_id must be one of CliffWalking-v1, Taxi-v4"):
        envs.make("CartPole-v0")


def test_run_episodes_records_whole_episodes_and_how_they_ended():
    envs_ = [Line(3), gym.wrappers.TimeLimit(Line(10), max_episode_steps=2), Line(1)]
    seen = []

    def act(obs):
        seen.append(obs.shape[0])
        return np.zeros(obs.shape[0], dtype=int)

    trajs = run_episodes(envs_, act)
    assert [len(t) for t in trajs] == [3, 2, 1] and seen == [3, 2, 1]  # finished envs drop out of the batch
    assert [(t.terminated, t.truncated) for t in trajs] == [(True, False), (False, True), (True, False)]
    assert trajs[0].obs[:, 0].tolist() == [0.0, 1.0, 2.0] and trajs[0].final_obs.tolist() == [3.0]
    assert trajs[1].ret == 2.0 and trajs[1].final_obs.tolist() == [2.0]
    with pytest.raises(ConfigError, match="run_episodes: envs must hold at least one environment"):
        run_episodes([], act)


def test_evaluate_is_reproducible():
    make = lambda s: envs.make(envs.CART_POLE, seed=s)  # noqa: E731
    rng = np.random.default_rng(0)
    first = evaluate(make, lambda o: (o[:, 2] > 0).astype(int), 5, seed=11)
    second = evaluate(make, lambda o: (o[:, 2] > 0).astype(int), 5, seed=11)
    assert first.shape == (5,) and np.array_equal(first, second) and first.min() >= 8
    assert evaluate(make, lambda o: rng.integers(2, size=len(o)), 5, seed=11).mean() < first.mean()
    with pytest.raises(ConfigError, match="evaluate: n_episodes must be >= 1, got 0"):
        evaluate(make, None, 0, 0)
