"""Dynamic programming on a known model: policy evaluation, policy iteration, value iteration.

The model is a finite MDP read from a gymnasium toy-text environment's transition
table ``env.unwrapped.P[s][a] = [(p, s', r, terminated), ...]`` (FrozenLake,
CliffWalking, Taxi). With the legend S states, A actions, M outcomes of one
action (padded), :class:`TabularMDP` keeps the outcomes as arrays and derives

* ``P[s, a, s'] = p(s' | s, a)``,
* ``R[s, a] = sum_{s'} p(s' | s, a) r(s, a, s')``, the expected immediate reward,
* ``C[s, a, s'] = p(s', not terminated | s, a)``: the probability of moving to
  ``s'`` *and continuing*. A terminating transition contributes no future value,
  so every backup reads ``R + gamma * C @ V``.

Bellman expectation equation (a policy ``pi``)::

    V_pi(s) = sum_a pi(a|s) [ R(s, a) + gamma * sum_{s'} C(s, a, s') V_pi(s') ]

Bellman optimality equation::

    V*(s) = max_a [ R(s, a) + gamma * sum_{s'} C(s, a, s') V*(s') ]

Each iterative method stops when the Bellman residual ``max_s |(T V)(s) - V(s)|``
(the sup-norm change of one sweep) falls below ``theta``; for ``gamma < 1`` the
value is then within ``gamma * theta / (1 - gamma)`` of the fixed point.

Reference: Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed.),
chapter 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassnet.errors import ConfigError, ShapeError

__all__ = [
    "TabularMDP", "DPResult", "q_from_v", "bellman_expectation_backup", "bellman_optimality_backup",
    "bellman_residual", "policy_evaluation", "policy_iteration", "value_iteration", "greedy_policy",
    "as_stochastic_policy", "simulate",
]


class TabularMDP:
    """A finite MDP as padded outcome arrays (S, A, M).

    Args:
        prob: (S, A, M) probability of each outcome (padding has probability 0).
        next_state: (S, A, M) int next state of each outcome.
        reward: (S, A, M) reward of each outcome.
        terminated: (S, A, M) bool, the outcome ends the episode in a terminal state.
        start: (S,) initial-state distribution.

    Raises:
        ShapeError: if the arrays disagree in shape.
        ConfigError: if a row of probabilities does not sum to 1 or ``start`` is not a distribution.
    """

    def __init__(self, prob, next_state, reward, terminated, start):
        prob = np.asarray(prob, dtype=np.float64)
        if prob.ndim != 3:
            raise ShapeError(f"TabularMDP: prob must be (S, A, M), got {prob.shape}")
        for name, arr in (("next_state", next_state), ("reward", reward), ("terminated", terminated)):
            if np.shape(arr) != prob.shape:
                raise ShapeError(f"TabularMDP: {name} must have prob's shape {prob.shape}, got {np.shape(arr)}")
        S, A, _ = prob.shape
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (S,):
            raise ShapeError(f"TabularMDP: start must be (S,) = ({S},), got {start.shape}")
        if not np.allclose(prob.sum(-1), 1.0, atol=1e-9) or not np.isclose(start.sum(), 1.0):
            raise ConfigError("TabularMDP: each prob[s, a] and start must sum to 1")
        self.prob = prob
        self.next_state = np.asarray(next_state, dtype=np.int64)
        self.reward = np.asarray(reward, dtype=np.float64)
        self.terminated = np.asarray(terminated, dtype=bool)
        self.start = start
        s_idx, a_idx = np.indices((S, A, prob.shape[2]))[:2]
        self.P = np.zeros((S, A, S))
        np.add.at(self.P, (s_idx, a_idx, self.next_state), prob)
        self.C = np.zeros((S, A, S))
        np.add.at(self.C, (s_idx, a_idx, self.next_state), prob * ~self.terminated)
        self.R = (prob * self.reward).sum(-1)  # (S, A)

    @property
    def n_states(self) -> int:
        return self.prob.shape[0]

    @property
    def n_actions(self) -> int:
        return self.prob.shape[1]

    @classmethod
    def from_gymnasium(cls, env) -> TabularMDP:
        """Read the model of a toy-text environment (``env.unwrapped.P`` and ``initial_state_distrib``).

        Raises:
            ConfigError: if the environment has no transition table.
        """
        base = env.unwrapped
        table = getattr(base, "P", None)
        start = getattr(base, "initial_state_distrib", None)
        if not isinstance(table, dict) or start is None:
            raise ConfigError(
                f"TabularMDP.from_gymnasium: {type(base).__name__} has no transition table P / initial_state_distrib"
            )
        S, A = base.observation_space.n, base.action_space.n
        M = max(len(outcomes) for row in table.values() for outcomes in row.values())
        prob = np.zeros((S, A, M))
        next_state = np.zeros((S, A, M), dtype=np.int64)
        reward = np.zeros((S, A, M))
        terminated = np.zeros((S, A, M), dtype=bool)
        for s in range(S):
            for a in range(A):
                for m, (p, s_next, r, done) in enumerate(table[s][a]):
                    prob[s, a, m], next_state[s, a, m], reward[s, a, m], terminated[s, a, m] = p, s_next, r, done
        # rounding in the env's table (1/3 written three ways) is renormalised away
        prob /= prob.sum(-1, keepdims=True)
        return cls(prob, next_state, reward, terminated, np.asarray(start, dtype=np.float64))


@dataclass
class DPResult:
    """What an iterative DP method returns.

    Attributes:
        V: (S,) state values.
        Q: (S, A) action values ``R + gamma * C @ V``.
        policy: (S,) int greedy (or evaluated deterministic) actions.
        iterations: sweeps (value iteration, evaluation) or improvement steps (policy iteration).
        residual: the last Bellman residual.
        converged: residual < theta before max_iterations.
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: int
    residual: float
    converged: bool


def _check_gamma_theta(name: str, gamma: float, theta: float) -> None:
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"{name}: gamma must be in [0, 1], got {gamma}")
    if not theta > 0:
        raise ConfigError(f"{name}: theta must be > 0, got {theta}")


def _check_v(name: str, mdp: TabularMDP, V) -> np.ndarray:
    V = np.asarray(V, dtype=np.float64)
    if V.shape != (mdp.n_states,):
        raise ShapeError(f"{name}: V must be (S,) = ({mdp.n_states},), got {V.shape}")
    return V


def as_stochastic_policy(mdp: TabularMDP, policy) -> np.ndarray:
    """A policy as an (S, A) matrix of probabilities ``pi(a|s)``.

    Args:
        policy: (S,) int actions (deterministic) or (S, A) probabilities.

    Raises:
        ShapeError: for any other shape; ConfigError for actions out of range or rows not summing to 1.
    """
    S, A = mdp.n_states, mdp.n_actions
    policy = np.asarray(policy)
    if policy.shape == (S,) and policy.dtype.kind in "iu":
        if policy.min() < 0 or policy.max() >= A:
            raise ConfigError(f"policy: actions must be in [0, {A}), got range [{policy.min()}, {policy.max()}]")
        return np.eye(A)[policy]
    if policy.shape == (S, A):
        if not np.allclose(policy.sum(-1), 1.0):
            raise ConfigError("policy: each row pi(.|s) must sum to 1")
        return policy.astype(np.float64)
    raise ShapeError(f"policy: must be (S,) int actions or (S, A) = ({S}, {A}) probabilities, got {policy.shape}")


def q_from_v(mdp: TabularMDP, V, gamma: float) -> np.ndarray:
    """One-step lookahead ``Q(s, a) = R(s, a) + gamma * sum_{s'} C(s, a, s') V(s')`` -> (S, A)."""
    V = _check_v("q_from_v", mdp, V)
    return mdp.R + gamma * mdp.C @ V  # (S, A, S) @ (S,) -> (S, A)


def bellman_expectation_backup(mdp: TabularMDP, policy, V, gamma: float) -> np.ndarray:
    """``(T_pi V)(s) = sum_a pi(a|s) [R(s, a) + gamma * sum_{s'} C(s, a, s') V(s')]`` -> (S,)."""
    pi = as_stochastic_policy(mdp, policy)
    return (pi * q_from_v(mdp, V, gamma)).sum(-1)


def bellman_optimality_backup(mdp: TabularMDP, V, gamma: float) -> np.ndarray:
    """``(T V)(s) = max_a [R(s, a) + gamma * sum_{s'} C(s, a, s') V(s')]`` -> (S,)."""
    return q_from_v(mdp, V, gamma).max(-1)


def bellman_residual(mdp: TabularMDP, V, gamma: float, policy=None) -> float:
    """``max_s |(T V)(s) - V(s)|`` with the optimality backup, or the expectation backup of ``policy``."""
    V = _check_v("bellman_residual", mdp, V)
    TV = bellman_optimality_backup(mdp, V, gamma) if policy is None else bellman_expectation_backup(
        mdp, policy, V, gamma
    )
    return float(np.abs(TV - V).max())


def greedy_policy(Q, tol: float = 0.0) -> np.ndarray:
    """``argmax_a Q(s, a)`` per state -> (S,) int; ties (within ``tol``) go to the lowest action."""
    Q = np.asarray(Q)
    if Q.ndim != 2:
        raise ShapeError(f"greedy_policy: Q must be (S, A), got {Q.shape}")
    return np.argmax(Q >= Q.max(-1, keepdims=True) - tol, axis=-1)


def policy_evaluation(mdp: TabularMDP, policy, gamma: float, theta: float = 1e-10,
                      max_iterations: int = 100_000, V0=None) -> DPResult:
    """Iterative policy evaluation: ``V <- T_pi V`` until the residual is below ``theta``.

    Args:
        mdp: the model.
        policy: (S,) int actions or (S, A) probabilities.
        gamma: discount in [0, 1] (1 is allowed for episodic tasks: values are then
            expected total rewards, and states from which the policy never terminates get 0).
        theta: stop when ``max_s |T_pi V - V| < theta``.
        max_iterations: at most this many sweeps.
        V0: (S,) starting values (default zeros).

    Raises:
        ConfigError: for gamma outside [0, 1] or theta <= 0.
    """
    _check_gamma_theta("policy_evaluation", gamma, theta)
    pi = as_stochastic_policy(mdp, policy)
    V = np.zeros(mdp.n_states) if V0 is None else _check_v("policy_evaluation", mdp, V0).copy()
    residual, k = np.inf, 0
    while k < max_iterations:
        V_new = bellman_expectation_backup(mdp, pi, V, gamma)
        residual = float(np.abs(V_new - V).max())
        V, k = V_new, k + 1
        if residual < theta:
            break
    Q = q_from_v(mdp, V, gamma)
    return DPResult(V, Q, np.argmax(pi, -1), k, residual, residual < theta)


def policy_iteration(mdp: TabularMDP, gamma: float, theta: float = 1e-10, max_iterations: int = 1000) -> DPResult:
    """Policy iteration: evaluate the policy, make it greedy, repeat until it is stable.

    An action is replaced only when another is better by more than ``theta``, so that
    ties between equally good actions cannot make the loop cycle.

    Raises:
        ConfigError: for gamma outside [0, 1] or theta <= 0.
    """
    _check_gamma_theta("policy_iteration", gamma, theta)
    policy = np.zeros(mdp.n_states, dtype=np.int64)
    V = np.zeros(mdp.n_states)
    for k in range(1, max_iterations + 1):
        V = policy_evaluation(mdp, policy, gamma, theta=theta, V0=V).V
        Q = q_from_v(mdp, V, gamma)
        current = Q[np.arange(mdp.n_states), policy]
        better = Q.max(-1) > current + theta
        if not better.any():
            return DPResult(V, Q, policy, k, bellman_residual(mdp, V, gamma), True)
        policy = np.where(better, Q.argmax(-1), policy)
    return DPResult(V, Q, policy, max_iterations, bellman_residual(mdp, V, gamma), False)


def value_iteration(mdp: TabularMDP, gamma: float, theta: float = 1e-10, max_iterations: int = 100_000) -> DPResult:
    """Value iteration: ``V <- max_a [R + gamma * C @ V]`` until the Bellman residual is below ``theta``.

    Starting from ``V = 0``; the returned ``policy`` is greedy in the final ``Q``.

    Raises:
        ConfigError: for gamma outside [0, 1] or theta <= 0.
    """
    _check_gamma_theta("value_iteration", gamma, theta)
    V = np.zeros(mdp.n_states)
    residual, k = np.inf, 0
    while k < max_iterations:
        V_new = bellman_optimality_backup(mdp, V, gamma)
        residual = float(np.abs(V_new - V).max())
        V, k = V_new, k + 1
        if residual < theta:
            break
    Q = q_from_v(mdp, V, gamma)
    return DPResult(V, Q, greedy_policy(Q), k, residual, residual < theta)


def simulate(mdp: TabularMDP, policy, n_episodes: int, rng, gamma: float = 1.0,
             max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run ``n_episodes`` of a deterministic policy in the model, all episodes at once.

    Each step samples every live episode's outcome from ``prob[s, policy[s]]``, exactly
    the distribution the gymnasium environment samples from.

    Args:
        policy: (S,) int actions.
        rng: numpy Generator or int seed.
        gamma: discount of the returned returns.
        max_steps: cap on episode length (None: run until every episode terminates).

    Returns:
        ``(returns, lengths)``: (n_episodes,) discounted returns and (n_episodes,) step counts.

    Raises:
        ShapeError: for a policy that is not (S,) ints; ConfigError for n_episodes < 1.
    """
    policy = np.asarray(policy)
    if policy.shape != (mdp.n_states,) or policy.dtype.kind not in "iu":
        raise ShapeError(f"simulate: policy must be (S,) = ({mdp.n_states},) int actions, got {policy.shape}")
    if n_episodes < 1:
        raise ConfigError(f"simulate: n_episodes must be >= 1, got {n_episodes}")
    rng = np.random.default_rng(rng)
    cum_prob = mdp.prob.cumsum(-1)  # (S, A, M)
    state = rng.choice(mdp.n_states, size=n_episodes, p=mdp.start)
    returns = np.zeros(n_episodes)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    live = np.arange(n_episodes)
    discount, t = 1.0, 0
    while live.size and (max_steps is None or t < max_steps):
        s = state[live]
        a = policy[s]
        u = rng.random(live.size)[:, None]
        # first outcome whose cumulative probability exceeds u (clamped against rounding)
        m = np.minimum((u >= cum_prob[s, a]).sum(-1), mdp.prob.shape[2] - 1)
        returns[live] += discount * mdp.reward[s, a, m]
        state[live] = mdp.next_state[s, a, m]
        lengths[live] += 1
        discount, t = discount * gamma, t + 1
        live = live[~mdp.terminated[s, a, m]]
    return returns, lengths
