"""Discounted returns ``G_t`` and their normalisation.

For rewards ``r_0 .. r_{T-1}`` of one episode::

    G_t = r_t + gamma * G_{t+1},    G_T = v_T

where ``v_T = 0`` when the episode *terminated* (the terminal state has no future)
and ``v_T = V(s_T)``, an estimate of the last state's value, when it was
*truncated* by a time limit: cutting off the future would tell the learner that
the last states of a long, successful CartPole episode are worth almost nothing.

Normalising (``(G - mean) / (std + eps)``) puts the learning signal on one scale
whatever the episode length; it must not blow up for a batch of one step or for
all-equal returns, where the standard deviation is 0.
"""

from __future__ import annotations

import numpy as np

from glassnet.errors import ConfigError, NonFiniteError, ShapeError

__all__ = ["discounted_returns", "normalize_returns"]


def discounted_returns(rewards, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
    """``G_t = r_t + gamma * G_{t+1}`` with ``G_T = bootstrap``, computed backwards in one pass.

    Args:
        rewards: (T,) rewards of one episode, T >= 1.
        gamma: discount in [0, 1].
        bootstrap: value of the state after the last step (0 if it terminated, V(s_T) if truncated).

    Returns:
        (T,) float64 returns.

    Raises:
        ShapeError: if rewards is not 1-D or empty; ConfigError for gamma outside [0, 1].
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim != 1 or rewards.size == 0:
        raise ShapeError(f"discounted_returns: rewards must be (T,) with T >= 1, got {rewards.shape}")
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"discounted_returns: gamma must be in [0, 1], got {gamma}")
    G = np.empty_like(rewards)
    running = float(bootstrap)
    for t in range(rewards.size - 1, -1, -1):
        running = rewards[t] + gamma * running
        G[t] = running
    return G


def normalize_returns(G, eps: float = 1e-8) -> np.ndarray:
    """``(G - mean(G)) / (std(G) + eps)``: zero mean and unit spread, finite for every input.

    A single return, or returns that are all equal (all zero), have ``std = 0``;
    their centred values are exactly 0, so the result is 0 rather than 0/0.

    Args:
        G: (T,) returns (or advantages).
        eps: added to the standard deviation, > 0.

    Returns:
        (T,) normalised float64 array.

    Raises:
        ShapeError: if G is not 1-D or empty; ConfigError for eps <= 0;
        NonFiniteError: if G holds NaN or inf.
    """
    G = np.asarray(G, dtype=np.float64)
    if G.ndim != 1 or G.size == 0:
        raise ShapeError(f"normalize_returns: G must be (T,) with T >= 1, got {G.shape}")
    if not eps > 0:
        raise ConfigError(f"normalize_returns: eps must be > 0, got {eps}")
    if not np.isfinite(G).all():
        raise NonFiniteError("normalize_returns: G holds NaN or inf")
    centred = G - G.mean()
    return centred / (centred.std() + eps)
