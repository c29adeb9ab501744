"""DQN: a Q-function approximated by a network, learned from a replay buffer against a target network.

Legend: N minibatch size, D observation size, A actions. One update samples N
transitions ``(s, a, r, s', terminated)`` uniformly from the replay buffer and
minimises::

    y_i  = r_i + gamma * (1 - terminated_i) * max_a' Q_target(s'_i, a')       (constants: no gradient)
    L(theta) = (1/N) sum_i huber(Q_theta(s_i, a_i) - y_i)                    (or the squared error)

* The **replay buffer** breaks the correlation of consecutive transitions and
  reuses each one many times.
* The **target network** ``Q_target`` is a copy of ``Q_theta`` refreshed every
  ``target_update`` updates, so the regression target does not move with every step.
* ``terminated`` zeroes the bootstrap; a time-limit truncation is stored as
  ``terminated = False`` and so bootstraps from ``s'``.
* Huber loss (quadratic within ``delta``, linear outside) is the "error clipping"
  of the paper: the gradient in ``Q`` never exceeds ``delta`` in size.

Reference: Mnih et al., *Human-level control through deep reinforcement learning*,
Nature 2015.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import glassnet.functional as F
from glassnet.autograd import Tensor, no_grad
from glassnet.errors import ConfigError, ShapeError
from glassnet.optim import Adam
from glassnet.rl.networks import mlp
from glassnet.rl.schedules import as_schedule
from glassnet.train.step import train_step

__all__ = ["Batch", "ReplayBuffer", "td_targets", "q_regression_loss", "DQN", "train_dqn"]


@dataclass
class Batch:
    """A minibatch of transitions: obs (N, D), actions (N,), rewards (N,), next_obs (N, D), terminated (N,)."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray


class ReplayBuffer:
    """A ring buffer of the last ``capacity`` transitions, sampled uniformly with replacement.

    Args:
        capacity: how many transitions are kept (the oldest is overwritten first).
        obs_dim: D.
        rng: numpy Generator or seed for sampling.

    Raises:
        ConfigError: for capacity < 1 or obs_dim < 1.
    """

    def __init__(self, capacity: int, obs_dim: int, rng=None):
        if capacity < 1 or obs_dim < 1:
            raise ConfigError(f"ReplayBuffer: capacity and obs_dim must be >= 1, got {capacity}, {obs_dim}")
        self.capacity = capacity
        self.rng = np.random.default_rng(rng)
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.cursor, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action: int, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition (``terminated``: s' is terminal; pass False for a truncation)."""
        i = self.cursor
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """N transitions drawn uniformly (with replacement) from those stored.

        Raises:
            ConfigError: if the buffer is empty or batch_size < 1.
        """
        if self.size == 0 or batch_size < 1:
            raise ConfigError(f"ReplayBuffer.sample: need a non-empty buffer and batch_size >= 1, "
                              f"got size {self.size}, batch_size {batch_size}")
        idx = self.rng.integers(self.size, size=batch_size)
        return Batch(self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminated[idx])


def td_targets(q_next: np.ndarray, rewards: np.ndarray, terminated: np.ndarray, gamma: float) -> np.ndarray:
    """``y = r + gamma * (1 - terminated) * max_a' q_next[:, a']`` -> (N,).

    Args:
        q_next: (N, A) target-network values of the next states.
        rewards: (N,); terminated: (N,) bool; gamma: discount in [0, 1].

    Raises:
        ShapeError: if the shapes disagree; ConfigError for gamma outside [0, 1].
    """
    q_next = np.asarray(q_next)
    N = q_next.shape[0] if q_next.ndim == 2 else -1
    if q_next.ndim != 2 or np.shape(rewards) != (N,) or np.shape(terminated) != (N,):
        raise ShapeError(f"td_targets: q_next must be (N, A) with rewards and terminated (N,), got "
                         f"{q_next.shape}, {np.shape(rewards)}, {np.shape(terminated)}")
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"td_targets: gamma must be in [0, 1], got {gamma}")
    not_done = 1.0 - np.asarray(terminated, dtype=q_next.dtype)
    return (np.asarray(rewards, dtype=q_next.dtype) + gamma * not_done * q_next.max(-1)).astype(q_next.dtype)


def q_regression_loss(q: Tensor, actions, targets, loss: str = "huber") -> Tensor:
    """``mean_i loss(q[i, a_i] - y_i)`` on the actions taken: the DQN loss.

    Args:
        q: (N, A) Tensor of Q_theta(s_i, .).
        actions: (N,) int; targets: (N,) constants y_i.
        loss: ``"huber"`` (delta = 1) or ``"mse"``.

    Raises:
        ShapeError: if the shapes disagree; ConfigError for an unknown loss.
    """
    N = q.shape[0]
    actions = np.asarray(actions)
    if q.ndim != 2 or actions.shape != (N,) or np.shape(targets) != (N,):
        raise ShapeError(f"q_regression_loss: q must be (N, A) with actions and targets (N,), got "
                         f"{q.shape}, {actions.shape}, {np.shape(targets)}")
    q_a = F.getitem(q, (np.arange(N), actions))  # (N,)
    targets = np.asarray(targets, dtype=q.dtype)
    if loss == "huber":
        return F.huber_loss(q_a, targets)
    if loss == "mse":
        return F.mean_squared_error(q_a, targets)
    raise ConfigError(f"q_regression_loss: loss must be 'huber' or 'mse', got {loss!r}")


class DQN:
    """A Q-network, its target copy, a replay buffer and an Adam optimizer.

    Args:
        obs_dim: D.
        n_actions: A.
        hidden: hidden-layer widths of the Q-network.
        lr: Adam learning rate.
        gamma: discount in [0, 1].
        batch_size: N per update.
        buffer_size: replay capacity.
        target_update: copy the online weights into the target network every this many updates.
        loss: ``"huber"`` or ``"mse"``.
        max_grad_norm: global gradient-norm clip (None: none).
        rng: numpy Generator or seed (weights, exploration, replay sampling).

    Raises:
        ConfigError: for gamma outside [0, 1], a non-positive lr, batch_size or target_update.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden=(128, 128), lr: float = 1e-3, gamma: float = 0.99,
                 batch_size: int = 64, buffer_size: int = 50_000, target_update: int = 500, loss: str = "huber",
                 max_grad_norm: float | None = 10.0, rng=None):
        if not 0.0 <= gamma <= 1.0:
            raise ConfigError(f"DQN: gamma must be in [0, 1], got {gamma}")
        if not (lr > 0 and batch_size >= 1 and target_update >= 1):
            raise ConfigError(f"DQN: need lr > 0, batch_size >= 1, target_update >= 1, got "
                              f"{lr}, {batch_size}, {target_update}")
        self.rng = np.random.default_rng(rng)
        self.n_actions = n_actions
        self.q_network = mlp((obs_dim, *hidden, n_actions), self.rng)
        self.target_network = mlp((obs_dim, *hidden, n_actions), self.rng)
        self.sync_target()
        self.optimizer = Adam(self.q_network.parameters(), lr=lr)
        self.buffer = ReplayBuffer(buffer_size, obs_dim, self.rng)
        self.gamma, self.batch_size, self.target_update = gamma, batch_size, target_update
        self.loss, self.max_grad_norm = loss, max_grad_norm
        self.updates = 0

    def sync_target(self) -> None:
        """``theta_target <- theta``."""
        self.target_network.load_state_dict(self.q_network.state_dict())

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online ``Q(s, .)`` for obs (N, D) -> (N, A), without a graph."""
        with no_grad():
            return self.q_network(np.asarray(obs, dtype=np.float32)).data

    def act(self, obs: np.ndarray, epsilon: float = 0.0) -> np.ndarray:
        """Epsilon-greedy actions for obs (N, D) -> (N,) int (epsilon = 0: greedy)."""
        greedy = self.q_values(obs).argmax(-1)
        explore = self.rng.random(greedy.shape[0]) < epsilon
        return np.where(explore, self.rng.integers(self.n_actions, size=greedy.shape[0]), greedy)

    def observe(self, obs, action: int, reward: float, next_obs, terminated: bool) -> None:
        """Store a transition in the replay buffer."""
        self.buffer.add(obs, action, reward, next_obs, terminated)

    def update(self) -> float:
        """One gradient step on a sampled minibatch; refreshes the target network on schedule.

        Returns:
            The loss before the step.

        Raises:
            NonFiniteError: the loss or a gradient is NaN or infinite (names the update); nothing is updated.
        """
        batch = self.buffer.sample(self.batch_size)
        with no_grad():
            q_next = self.target_network(batch.next_obs).data  # (N, A)
        targets = td_targets(q_next, batch.rewards, batch.terminated, self.gamma)
        loss = q_regression_loss(self.q_network(batch.obs), batch.actions, targets, self.loss)
        # the shared step: finiteness checks, optional clipping (glassnet.train.step)
        train_step(self.optimizer, loss, max_norm=self.max_grad_norm, where=f"DQN update {self.updates + 1}",
                   model=self.q_network)
        self.updates += 1
        if self.updates % self.target_update == 0:
            self.sync_target()
        return float(loss.item())


def train_dqn(agent, env, steps: int, epsilon, learning_starts: int = 1000, train_every: int = 1,
              on_episode: Callable[[int, float], bool] | None = None, progress=None) -> list[float]:
    """The DQN loop: act epsilon-greedily, store, and update every ``train_every`` steps.

    Args:
        agent: anything with ``act(obs, epsilon)``, ``observe(...)`` and ``update()`` (a :class:`DQN`).
        env: a seeded gymnasium env.
        steps: environment steps at most.
        epsilon: number or schedule of the step index.
        learning_starts: steps of pure collection before the first update.
        train_every: environment steps per update.
        on_episode: ``on_episode(step, episode_return) -> stop`` after each episode; True ends training.
        progress: optional wrapper for the step range (e.g. ``ctx.progress``).

    Returns:
        The return of every finished episode.

    Raises:
        ConfigError: for steps < 1 or train_every < 1.
    """
    if steps < 1 or train_every < 1:
        raise ConfigError(f"train_dqn: steps and train_every must be >= 1, got {steps}, {train_every}")
    epsilon = as_schedule(epsilon)
    returns: list[float] = []
    obs, _ = env.reset()
    episode_return = 0.0
    for step in (range(steps) if progress is None else progress(range(steps))):
        action = int(agent.act(obs[None], epsilon(step))[0])
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.observe(obs, action, reward, next_obs, terminated)
        episode_return += reward
        obs = next_obs
        if step >= learning_starts and step % train_every == 0:
            agent.update()
        if terminated or truncated:
            returns.append(episode_return)
            if on_episode is not None and on_episode(step + 1, episode_return):
                break
            obs, _ = env.reset()
            episode_return = 0.0
    return returns
