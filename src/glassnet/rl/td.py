"""Tabular temporal-difference control: Q-learning and SARSA with epsilon-greedy behaviour.

With the legend S states, A actions and a table ``Q`` (S, A), one transition
``(s, a, r, s')`` changes one entry by ``alpha * delta``:

* Q-learning (off-policy, Watkins 1989)::

      delta = r + gamma * (1 - terminated) * max_a' Q(s', a') - Q(s, a)

* SARSA (on-policy, Rummery & Niranjan 1994), with ``a'`` the action the
  behaviour policy takes (or would take) in ``s'``::

      delta = r + gamma * (1 - terminated) * Q(s', a') - Q(s, a)

``terminated`` (the MDP's terminal state) removes the bootstrap term because the
value of a terminal state is 0. ``truncated`` (a time limit) does not: the next
state still has a future the agent merely did not get to see, so its value is
bootstrapped (Pardo et al., *Time Limits in Reinforcement Learning*, 2018).

Reference: Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed.),
sections 6.4-6.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.errors import ConfigError, ShapeError
from glassnet.rl.schedules import as_schedule

__all__ = [
    "EpisodeStats", "epsilon_greedy", "greedy_action", "q_learning_update", "sarsa_update",
    "q_learning_episode", "sarsa_episode", "train_tabular", "greedy_rollout",
]


@dataclass
class EpisodeStats:
    """One episode: undiscounted return, number of steps, and how it ended."""

    ret: float
    length: int
    terminated: bool
    truncated: bool


def greedy_action(q_row: np.ndarray, rng: np.random.Generator) -> int:
    """``argmax_a Q(s, a)`` with ties broken uniformly at random.

    Random tie-breaking matters at the start, when a zero-initialised table would
    otherwise always pick action 0.
    """
    # plain Python on the short row: several times faster than NumPy calls per step
    row = q_row.tolist()
    top = max(row)
    best = [a for a, q in enumerate(row) if q == top]
    return best[0] if len(best) == 1 else best[int(rng.integers(len(best)))]


def epsilon_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniformly random action, otherwise a greedy one.

    Args:
        q_row: (A,) action values of the current state.
        epsilon: exploration rate in [0, 1].
        rng: numpy Generator.

    Raises:
        ConfigError: for epsilon outside [0, 1].
    """
    if not 0.0 <= epsilon <= 1.0:
        raise ConfigError(f"epsilon_greedy: epsilon must be in [0, 1], got {epsilon}")
    if rng.random() < epsilon:
        return int(rng.integers(q_row.shape[0]))
    return greedy_action(q_row, rng)


def _check_step(name: str, Q: np.ndarray, alpha: float, gamma: float) -> None:
    if Q.ndim != 2:
        raise ShapeError(f"{name}: Q must be (S, A), got {Q.shape}")
    if not 0.0 < alpha <= 1.0:
        raise ConfigError(f"{name}: alpha must be in (0, 1], got {alpha}")
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"{name}: gamma must be in [0, 1], got {gamma}")


def q_learning_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, terminated: bool,
                      alpha: float, gamma: float) -> float:
    """Q-learning: ``Q(s,a) += alpha * [r + gamma * (1 - terminated) * max_a' Q(s',a') - Q(s,a)]`` in place.

    Args:
        Q: (S, A) float table, changed in place.
        s, a, r, s_next: the transition.
        terminated: s_next is terminal (no bootstrap). Pass False for a truncated step.
        alpha: step size in (0, 1].
        gamma: discount in [0, 1].

    Returns:
        The TD error ``delta``.

    Raises:
        ShapeError: if Q is not 2-D; ConfigError for alpha or gamma out of range.
    """
    _check_step("q_learning_update", Q, alpha, gamma)
    target = r if terminated else r + gamma * Q[s_next].max()
    delta = target - Q[s, a]
    Q[s, a] += alpha * delta
    return float(delta)


def sarsa_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, a_next: int, terminated: bool,
                 alpha: float, gamma: float) -> float:
    """SARSA: ``Q(s,a) += alpha * [r + gamma * (1 - terminated) * Q(s',a') - Q(s,a)]`` in place.

    Args are those of :func:`q_learning_update` plus ``a_next``, the behaviour policy's
    action in ``s_next``.

    Returns:
        The TD error ``delta``.

    Raises:
        ShapeError: if Q is not 2-D; ConfigError for alpha or gamma out of range.
    """
    _check_step("sarsa_update", Q, alpha, gamma)
    target = r if terminated else r + gamma * Q[s_next, a_next]
    delta = target - Q[s, a]
    Q[s, a] += alpha * delta
    return float(delta)


def q_learning_episode(env, Q: np.ndarray, alpha: float, gamma: float, epsilon: float,
                       rng: np.random.Generator) -> EpisodeStats:
    """Run one epsilon-greedy episode in ``env`` (gymnasium, discrete states) and learn from every step.

    The env should already be seeded (:func:`glassnet.rl.envs.make`); this calls ``env.reset()``.
    """
    s, _ = env.reset()
    total, steps = 0.0, 0
    while True:
        a = epsilon_greedy(Q[s], epsilon, rng)
        s_next, r, terminated, truncated, _ = env.step(a)
        q_learning_update(Q, s, a, r, s_next, terminated, alpha, gamma)
        total, steps, s = total + r, steps + 1, s_next
        if terminated or truncated:
            return EpisodeStats(total, steps, bool(terminated), bool(truncated))


def sarsa_episode(env, Q: np.ndarray, alpha: float, gamma: float, epsilon: float,
                  rng: np.random.Generator) -> EpisodeStats:
    """Run one epsilon-greedy SARSA episode in ``env`` and learn from every step.

    On a truncated last step ``a'`` is still drawn from the policy in ``s'`` (and not
    taken), so that the target bootstraps from ``Q(s', a')``.
    """
    s, _ = env.reset()
    a = epsilon_greedy(Q[s], epsilon, rng)
    total, steps = 0.0, 0
    while True:
        s_next, r, terminated, truncated, _ = env.step(a)
        a_next = epsilon_greedy(Q[s_next], epsilon, rng)
        sarsa_update(Q, s, a, r, s_next, a_next, terminated, alpha, gamma)
        total, steps, s, a = total + r, steps + 1, s_next, a_next
        if terminated or truncated:
            return EpisodeStats(total, steps, bool(terminated), bool(truncated))


_EPISODES = {"q_learning": q_learning_episode, "sarsa": sarsa_episode}


def train_tabular(env, algorithm: str, n_episodes: int, alpha, gamma: float, epsilon, rng,
                  Q0: np.ndarray | None = None, progress=None) -> tuple[np.ndarray, list[EpisodeStats]]:
    """Learn a Q table with Q-learning or SARSA over ``n_episodes``.

    Args:
        env: a seeded gymnasium env with Discrete observation and action spaces.
        algorithm: ``"q_learning"`` or ``"sarsa"``.
        n_episodes: number of episodes.
        alpha, epsilon: numbers or schedules of the episode index (:mod:`glassnet.rl.schedules`).
        gamma: discount in [0, 1].
        rng: numpy Generator or seed for the behaviour policy.
        Q0: (S, A) initial table (default zeros); copied, not changed.
        progress: optional wrapper for the episode range (e.g. ``ctx.progress``).

    Returns:
        ``(Q, stats)``: the learned (S, A) table and one :class:`EpisodeStats` per episode.

    Raises:
        ConfigError: for an unknown algorithm or n_episodes < 1.
    """
    if algorithm not in _EPISODES:
        raise ConfigError(f"train_tabular: algorithm must be one of {', '.join(_EPISODES)}, got {algorithm!r}")
    if n_episodes < 1:
        raise ConfigError(f"train_tabular: n_episodes must be >= 1, got {n_episodes}")
    S, A = env.observation_space.n, env.action_space.n
    Q = np.zeros((S, A)) if Q0 is None else np.array(Q0, dtype=np.float64)
    if Q.shape != (S, A):
        raise ShapeError(f"train_tabular: Q0 must be (S, A) = ({S}, {A}), got {Q.shape}")
    rng = np.random.default_rng(rng)
    alpha, epsilon = as_schedule(alpha), as_schedule(epsilon)
    episode = _EPISODES[algorithm]
    episodes = range(n_episodes) if progress is None else progress(range(n_episodes))
    stats = [episode(env, Q, alpha(i), gamma, epsilon(i), rng) for i in episodes]
    return Q, stats


def greedy_rollout(env, Q: np.ndarray, max_steps: int = 1000) -> tuple[float, list[int]]:
    """Follow ``argmax_a Q(s, a)`` (ties to the lowest action) from ``env.reset()``.

    Returns:
        ``(return, states)``: the undiscounted return and the visited states, the first
        included; stops after ``max_steps`` when the greedy policy loops.
    """
    s, _ = env.reset()
    states, total = [int(s)], 0.0
    for _ in range(max_steps):
        s, r, terminated, truncated, _ = env.step(int(np.argmax(Q[s])))
        states.append(int(s))
        total += r
        if terminated or truncated:
            break
    return total, states
