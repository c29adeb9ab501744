"""Environments from gymnasium, pinned by id, made and seeded in one place.

The ids below exist in gymnasium 1.x (checked against 1.4): ``CliffWalking-v1``
(Sutton & Barto's example 6.6: -1 a step, -100 and back to the start for the
cliff, no time limit), ``Taxi-v4``, ``FrozenLake-v1`` (4x4, slippery, 100-step
limit), ``FrozenLake8x8-v1`` (200-step limit) and ``CartPole-v1`` (500-step
limit, +1 a step).

gymnasium's step API has five return values ``(obs, reward, terminated,
truncated, info)``. ``terminated`` means the MDP reached a terminal state: the
value after it is 0 and a target never bootstraps. ``truncated`` means an
outside limit (a TimeLimit) stopped the episode in a non-terminal state: a
target still bootstraps from the next state's value.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from glassnet.errors import ConfigError

__all__ = ["CLIFF_WALKING", "TAXI", "FROZEN_LAKE", "FROZEN_LAKE_8X8", "CART_POLE", "PINNED_IDS", "make", "seed_for"]

CLIFF_WALKING = "CliffWalking-v1"
TAXI = "Taxi-v4"
FROZEN_LAKE = "FrozenLake-v1"
FROZEN_LAKE_8X8 = "FrozenLake8x8-v1"
CART_POLE = "CartPole-v1"
PINNED_IDS = (CLIFF_WALKING, TAXI, FROZEN_LAKE, FROZEN_LAKE_8X8, CART_POLE)


def make(env_id: str, seed: int | None = None, **kwargs: Any) -> gym.Env:
    """Make a gymnasium environment and seed it (reset and action space).

    Args:
        env_id: one of :data:`PINNED_IDS`.
        seed: seeds ``env.reset`` (the first reset) and ``env.action_space``; None leaves them unseeded.
        **kwargs: passed to ``gymnasium.make`` (e.g. ``max_episode_steps``, ``map_name``).

    Returns:
        The environment, already reset once with ``seed`` so that later ``reset()`` calls
        continue its seeded random stream.

    Raises:
        ConfigError: for an id that is not pinned or not registered in the installed gymnasium.
    """
    if env_id not in PINNED_IDS:
        raise ConfigError(f"make: env_id must be one of {', '.join(PINNED_IDS)}, got {env_id!r}")
    if env_id not in gym.registry:
        raise ConfigError(f"make: {env_id!r} is not registered in gymnasium {gym.__version__}")
    env = gym.make(env_id, **kwargs)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def seed_for(rng: np.random.Generator) -> int:
    """A fresh integer seed drawn from ``rng`` (to seed an environment from the run's generator)."""
    return int(rng.integers(2**31 - 1))
