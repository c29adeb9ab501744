"""Tiny hand-made environments whose transitions can be worked out by hand."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.spaces import Box, Discrete


class Chain(gym.Env):
    """From state 0 any action gives reward 1 and leads to state 1; terminates there if ``terminal``."""

    observation_space = Discrete(2)
    action_space = Discrete(2)

    def __init__(self, terminal: bool):
        self.terminal = terminal

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 1, 1.0, self.terminal, False, {}


class Line(gym.Env):
    """A 1-D observation that counts steps; reward 1 per step; terminates after ``length`` steps."""

    observation_space = Box(-np.inf, np.inf, (1,), np.float32)
    action_space = Discrete(2)

    def __init__(self, length: int):
        self.length = length

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), 1.0, self.t >= self.length, False, {}


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny matrices: a second BLAS thread only adds contention on a shared machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture
def chain():
    """(terminating chain, chain cut by a one-step time limit)."""
    return Chain(terminal=True), gym.wrappers.TimeLimit(Chain(terminal=False), max_episode_steps=1)
