"""Multi-armed bandits: the k-armed testbed and three ways to explore, vectorised over runs.

Legend: R independent runs (bandit problems), k arms, T steps. Each run has true
action values ``q*(a) ~ N(0, 1)``; pulling arm ``a`` pays ``r ~ N(q*(a), 1)``
(Sutton & Barto's 10-armed testbed, section 2.3). Every agent keeps estimates
``Q (R, k)`` and counts ``N (R, k)`` and updates the pulled arm by

    Q(a) <- Q(a) + alpha_n * (r - Q(a)),    alpha_n = 1 / N(a)  (sample average)  or  a constant alpha

and they differ only in how they choose an arm:

* :class:`EpsilonGreedy`: ``argmax_a Q(a)`` with probability ``1 - epsilon``, a uniformly
  random arm otherwise; with ``initial > 0`` and ``epsilon = 0`` it is the
  *optimistic initial values* method (section 2.6): early disappointments drive exploration.
* :class:`UCB`: ``argmax_a [Q(a) + c * sqrt(ln t / N(a))]``, untried arms first
  (upper confidence bound, section 2.7; Auer et al. 2002).

Greedy choices break ties uniformly at random. All R runs advance together, one
NumPy operation per step, so the book's 2000 runs x 1000 steps take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.errors import ConfigError, ShapeError

__all__ = ["EpsilonGreedy", "UCB", "BanditCurves", "make_testbed", "run_testbed", "argmax_random_ties"]


def argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax of (R, k) ``values``, choosing uniformly among tied maxima -> (R,) int."""
    noise = rng.random(values.shape)
    return np.where(values == values.max(-1, keepdims=True), noise, -1.0).argmax(-1)


def _check_step_size(name: str, step_size: float | None) -> None:
    if step_size is not None and not 0.0 < step_size <= 1.0:
        raise ConfigError(f"{name}: step_size must be None (sample average) or in (0, 1], got {step_size}")


@dataclass(frozen=True)
class EpsilonGreedy:
    """Epsilon-greedy arm choice.

    Attributes:
        epsilon: probability of a uniformly random arm, in [0, 1].
        initial: initial estimate Q_1(a) for every arm (5.0 makes "optimistic initial values").
        step_size: None for sample averages ``1/N(a)``, else a constant alpha in (0, 1].
    """

    epsilon: float = 0.1
    initial: float = 0.0
    step_size: float | None = None

    def __post_init__(self):
        if not 0.0 <= self.epsilon <= 1.0:
            raise ConfigError(f"EpsilonGreedy: epsilon must be in [0, 1], got {self.epsilon}")
        _check_step_size("EpsilonGreedy", self.step_size)

    def select(self, Q: np.ndarray, N: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        greedy = argmax_random_ties(Q, rng)
        explore = rng.random(Q.shape[0]) < self.epsilon
        return np.where(explore, rng.integers(Q.shape[1], size=Q.shape[0]), greedy)


@dataclass(frozen=True)
class UCB:
    """Upper-confidence-bound arm choice ``argmax_a Q(a) + c * sqrt(ln t / N(a))`` (t counted from 1).

    Attributes:
        c: exploration weight (> 0); the book's figure 2.4 uses 2.
        initial: initial estimates.
        step_size: None for sample averages, else a constant alpha.
    """

    c: float = 2.0
    initial: float = 0.0
    step_size: float | None = None

    def __post_init__(self):
        if not self.c > 0:
            raise ConfigError(f"UCB: c must be > 0, got {self.c}")
        _check_step_size("UCB", self.step_size)

    def select(self, Q: np.ndarray, N: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        with np.errstate(divide="ignore"):
            # an untried arm (N = 0) has an infinite bound, so every arm is tried once first
            bonus = np.where(N > 0, self.c * np.sqrt(np.log(t) / np.maximum(N, 1)), np.inf)
        return argmax_random_ties(Q + bonus, rng)


@dataclass
class BanditCurves:
    """Learning curves averaged over runs.

    Attributes:
        reward: (T,) mean reward at each step.
        optimal: (T,) fraction of runs that pulled their best arm at each step.
    """

    reward: np.ndarray
    optimal: np.ndarray


def make_testbed(n_runs: int, k: int, rng) -> np.ndarray:
    """True action values ``q* (R, k) ~ N(0, 1)``, one bandit problem per row.

    Raises:
        ConfigError: for n_runs < 1 or k < 2.
    """
    if n_runs < 1 or k < 2:
        raise ConfigError(f"make_testbed: need n_runs >= 1 and k >= 2, got n_runs={n_runs}, k={k}")
    return np.random.default_rng(rng).standard_normal((n_runs, k))


def run_testbed(agent: EpsilonGreedy | UCB, q_star: np.ndarray, n_steps: int, rng) -> BanditCurves:
    """Run ``agent`` for ``n_steps`` on every bandit problem (row) of ``q_star`` at once.

    Args:
        agent: an :class:`EpsilonGreedy` or :class:`UCB`.
        q_star: (R, k) true action values (:func:`make_testbed`).
        n_steps: T, steps per run.
        rng: numpy Generator or seed for the rewards and the agent's choices.

    Returns:
        :class:`BanditCurves` with (T,) mean reward and fraction of optimal actions.

    Raises:
        ShapeError: if q_star is not 2-D; ConfigError for n_steps < 1.
    """
    q_star = np.asarray(q_star, dtype=np.float64)
    if q_star.ndim != 2:
        raise ShapeError(f"run_testbed: q_star must be (R, k), got {q_star.shape}")
    if n_steps < 1:
        raise ConfigError(f"run_testbed: n_steps must be >= 1, got {n_steps}")
    rng = np.random.default_rng(rng)
    R, k = q_star.shape
    rows = np.arange(R)
    best = q_star.argmax(-1)  # (R,)
    Q = np.full((R, k), float(agent.initial))
    N = np.zeros((R, k))
    reward_curve, optimal_curve = np.empty(n_steps), np.empty(n_steps)
    for t in range(1, n_steps + 1):
        a = agent.select(Q, N, t, rng)  # (R,)
        r = q_star[rows, a] + rng.standard_normal(R)  # (R,)
        N[rows, a] += 1
        alpha = 1.0 / N[rows, a] if agent.step_size is None else agent.step_size
        Q[rows, a] += alpha * (r - Q[rows, a])
        reward_curve[t - 1], optimal_curve[t - 1] = r.mean(), (a == best).mean()
    return BanditCurves(reward_curve, optimal_curve)
