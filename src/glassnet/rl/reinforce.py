"""REINFORCE with a learned baseline: a softmax policy network trained by the policy gradient.

Policy gradient theorem (Sutton et al. 2000; Williams 1992)::

    grad J(theta) = E_pi[ sum_t (G_t - b(s_t)) * grad log pi_theta(a_t | s_t) ]

Any baseline ``b`` that does not depend on the action leaves the expectation
unchanged and can cut its variance; here ``b = V_w(s)``, a second network fitted
to the returns by least squares. One update (legend: N steps of a batch of episodes, A actions)::

    A_t       = G_t - V_w(s_t)                       (advantage, no gradient; normalised if asked)
    L_pi(th)  = -(1/N) sum_t A_t * log softmax(f_th(s_t))[a_t]
    L_V(w)    = (1/N) sum_t (V_w(s_t) - G_t)^2

The ``gamma^t`` factor of the exact theorem is dropped, as is usual in practice.
A truncated episode bootstraps ``G`` from ``V_w(s_T)`` (:func:`~glassnet.rl.returns.discounted_returns`).
"""

from __future__ import annotations

import numpy as np

import glassnet.functional as F
from glassnet.autograd import Tensor, no_grad
from glassnet.errors import ConfigError, ShapeError
from glassnet.optim import Adam
from glassnet.rl.networks import mlp
from glassnet.rl.returns import discounted_returns, normalize_returns
from glassnet.rl.rollout import Trajectory
from glassnet.train.step import train_step

__all__ = ["policy_gradient_loss", "sample_actions", "Reinforce"]


def policy_gradient_loss(logits, actions, advantages) -> Tensor:
    """``-(1/N) sum_t A_t log softmax(logits_t)[a_t]``: its gradient is the REINFORCE estimate.

    Gradient with respect to the logits: ``(A_t / N) * (softmax(logits_t) - onehot(a_t))``.

    Args:
        logits: (N, A) Tensor of unnormalised action scores.
        actions: (N,) int actions taken.
        advantages: (N,) array of weights ``A_t`` (constants: no gradient flows into them).

    Returns:
        A scalar Tensor.

    Raises:
        ShapeError: if the shapes disagree.
    """
    N = logits.shape[0]
    actions = np.asarray(actions)
    if logits.ndim != 2 or actions.shape != (N,) or np.shape(advantages) != (N,):
        raise ShapeError(
            f"policy_gradient_loss: logits must be (N, A) with actions and advantages (N,), got logits "
            f"{logits.shape}, actions {actions.shape}, advantages {np.shape(advantages)}"
        )
    log_pi = F.log_softmax(logits, axis=-1)  # (N, A)
    log_pi_a = F.getitem(log_pi, (np.arange(N), actions))  # (N,)
    weights = np.asarray(advantages, dtype=log_pi.dtype)
    return -F.mean(log_pi_a * weights)


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of (N, A) probabilities -> (N,) int (inverse-CDF sampling)."""
    u = rng.random((probs.shape[0], 1))
    return np.minimum((u > probs.cumsum(-1)).sum(-1), probs.shape[1] - 1)


class Reinforce:
    """A softmax policy network and a value baseline network, trained by REINFORCE.

    Args:
        obs_dim: D, size of an observation.
        n_actions: A.
        hidden: widths of the hidden layers of both networks.
        lr: Adam learning rate of the policy.
        baseline_lr: Adam learning rate of the baseline.
        gamma: discount in [0, 1].
        normalize: normalise the advantages of each batch to zero mean, unit spread.
        max_grad_norm: clip each network's global gradient norm (None: no clipping).
        rng: numpy Generator or seed (weights and action sampling).

    Raises:
        ConfigError: for a non-positive size or learning rate, or gamma outside [0, 1].
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden=(64,), lr: float = 1e-2, baseline_lr: float = 1e-2,
                 gamma: float = 0.99, normalize: bool = True, max_grad_norm: float | None = None, rng=None):
        if not 0.0 <= gamma <= 1.0:
            raise ConfigError(f"Reinforce: gamma must be in [0, 1], got {gamma}")
        if not (lr > 0 and baseline_lr > 0):
            raise ConfigError(f"Reinforce: learning rates must be > 0, got lr={lr}, baseline_lr={baseline_lr}")
        self.rng = np.random.default_rng(rng)
        self.policy = mlp((obs_dim, *hidden, n_actions), self.rng)
        self.baseline = mlp((obs_dim, *hidden, 1), self.rng)
        self.policy_opt = Adam(self.policy.parameters(), lr=lr)
        self.baseline_opt = Adam(self.baseline.parameters(), lr=baseline_lr)
        self.gamma, self.normalize, self.max_grad_norm = gamma, normalize, max_grad_norm

    def probabilities(self, obs: np.ndarray) -> np.ndarray:
        """``pi(. | s)`` for a batch of observations (N, D) -> (N, A), without a graph."""
        with no_grad():
            return F.softmax(self.policy(np.asarray(obs, dtype=np.float32)), axis=-1).data

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Sample ``a ~ pi(. | s)`` for each row of obs (N, D) -> (N,) int."""
        return sample_actions(self.probabilities(obs), self.rng)

    def value(self, obs: np.ndarray) -> np.ndarray:
        """Baseline ``V_w(s)`` for obs (N, D) -> (N,), without a graph."""
        with no_grad():
            return self.baseline(np.asarray(obs, dtype=np.float32)).data[:, 0]

    def returns(self, trajectory: Trajectory) -> np.ndarray:
        """``G_t`` of one episode, bootstrapped from ``V_w(s_T)`` if it was truncated."""
        bootstrap = float(self.value(trajectory.final_obs[None])[0]) if trajectory.truncated else 0.0
        return discounted_returns(trajectory.rewards, self.gamma, bootstrap)

    def update(self, trajectories: list[Trajectory]) -> dict[str, float]:
        """One gradient step of the policy and of the baseline on a batch of episodes.

        Returns:
            ``{"policy_loss", "baseline_loss"}`` as floats (before the step).

        Raises:
            NonFiniteError: a loss or a gradient is NaN or infinite; the network concerned is not updated.
        """
        obs = np.concatenate([t.obs for t in trajectories])  # (N, D)
        actions = np.concatenate([t.actions for t in trajectories])  # (N,)
        G = np.concatenate([self.returns(t) for t in trajectories]).astype(np.float32)  # (N,)

        values = self.baseline(obs)[:, 0]  # (N,)
        advantages = G - values.data
        if self.normalize:
            advantages = normalize_returns(advantages)
        policy_loss = policy_gradient_loss(self.policy(obs), actions, advantages)
        baseline_loss = F.mean_squared_error(values, G)

        # two separate graphs (the advantages hold no graph), each through the shared step (glassnet.train.step)
        policy = train_step(self.policy_opt, policy_loss, max_norm=self.max_grad_norm,
                            where="REINFORCE policy update", model=self.policy)
        baseline = train_step(self.baseline_opt, baseline_loss, max_norm=self.max_grad_norm,
                              where="REINFORCE baseline update", model=self.baseline)
        return {"policy_loss": policy.loss, "baseline_loss": baseline.loss}
