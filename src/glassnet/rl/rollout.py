"""Running whole episodes in several environments at once, one batched policy call per step.

Each environment plays exactly one episode; environments that finish early
wait while the others go on, so one call returns one complete trajectory per
environment (no automatic reset splices two episodes together). With N
environments the policy sees a batch ``obs (n_live, D)`` per step, which is
what makes a Python-side network fast enough: one forward for N steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from glassnet.errors import ConfigError

__all__ = ["Trajectory", "run_episodes", "evaluate"]


@dataclass
class Trajectory:
    """One episode.

    Attributes:
        obs: (T, D) float32 observations s_0 .. s_{T-1} (the states actions were taken in).
        actions: (T,) int actions.
        rewards: (T,) float64 rewards.
        final_obs: (D,) float32 state s_T after the last step.
        terminated: the episode reached a terminal state (no bootstrap from s_T).
        truncated: a time limit cut it (bootstrap from s_T).
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    final_obs: np.ndarray
    terminated: bool
    truncated: bool

    @property
    def ret(self) -> float:
        """Undiscounted return ``sum_t r_t``."""
        return float(self.rewards.sum())

    def __len__(self) -> int:
        return int(self.actions.shape[0])


def run_episodes(envs: list, act: Callable[[np.ndarray], np.ndarray]) -> list[Trajectory]:
    """Play one episode in every environment, stepping all live ones together.

    Args:
        envs: gymnasium environments (seeded; each is ``reset()`` here).
        act: ``act(obs (n, D) float32) -> (n,) int`` actions for the n live environments.

    Returns:
        One :class:`Trajectory` per environment, in order.

    Raises:
        ConfigError: if envs is empty.
    """
    if not envs:
        raise ConfigError("run_episodes: envs must hold at least one environment")
    obs = np.stack([env.reset()[0] for env in envs]).astype(np.float32)  # (N, D)
    steps = [([], [], []) for _ in envs]  # per env: observations, actions, rewards
    ends: list[tuple[bool, bool] | None] = [None] * len(envs)
    live = list(range(len(envs)))
    while live:
        actions = np.asarray(act(obs[live]))  # (n_live,)
        still = []
        for i, a in zip(live, actions.tolist()):
            seen, taken, got = steps[i]
            seen.append(obs[i].copy())  # obs[i] is overwritten below
            taken.append(a)
            s_next, r, terminated, truncated, _ = envs[i].step(a)
            got.append(r)
            obs[i] = s_next
            if terminated or truncated:
                ends[i] = (bool(terminated), bool(truncated))
            else:
                still.append(i)
        live = still
    return [
        Trajectory(np.stack(o), np.asarray(a, dtype=np.int64), np.asarray(r, dtype=np.float64), obs[i].copy(), *ends[i])
        for i, (o, a, r) in enumerate(steps)
    ]


def evaluate(make_env: Callable[[int], object], act: Callable[[np.ndarray], np.ndarray], n_episodes: int,
             seed: int) -> np.ndarray:
    """Returns of ``n_episodes`` consecutive episodes of a fixed policy, played side by side.

    Args:
        make_env: ``make_env(seed) -> env``, e.g. ``lambda s: envs.make(envs.CART_POLE, seed=s)``.
        act: the policy, as for :func:`run_episodes`.
        n_episodes: number of episodes (each in a fresh environment seeded ``seed + i``).
        seed: base seed, so that two evaluations with the same seed see the same start states.

    Returns:
        (n_episodes,) undiscounted returns.

    Raises:
        ConfigError: for n_episodes < 1.
    """
    if n_episodes < 1:
        raise ConfigError(f"evaluate: n_episodes must be >= 1, got {n_episodes}")
    trajectories = run_episodes([make_env(seed + i) for i in range(n_episodes)], act)
    return np.array([t.ret for t in trajectories])
