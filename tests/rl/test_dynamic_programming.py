import numpy as np
import pytest

from glassnet.errors import ConfigError, ShapeError
from glassnet.rl import envs
from glassnet.rl.dynamic_programming import (
    TabularMDP,
    bellman_expectation_backup,
    bellman_residual,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    simulate,
    value_iteration,
)


def two_state_mdp():
    """State 0: a0 -> state 1 (r 0), a1 -> terminate (r 0.5). State 1: either action -> terminate (r 1)."""
    prob = np.ones((2, 2, 1))
    next_state = np.array([[[1], [0]], [[1], [1]]])
    reward = np.array([[[0.0], [0.5]], [[1.0], [1.0]]])
    terminated = np.array([[[False], [True]], [[True], [True]]])
    return TabularMDP(prob, next_state, reward, terminated, start=[1.0, 0.0])


@pytest.fixture(scope="module")
def frozen_lake():
    return TabularMDP.from_gymnasium(envs.make(envs.FROZEN_LAKE, seed=0))


def test_value_iteration_on_a_hand_worked_mdp():
    mdp = two_state_mdp()
    # gamma 0.9: V(1) = 1, Q(0, .) = (0.9 * 1, 0.5) -> go on; gamma 0.4: Q(0, .) = (0.4, 0.5) -> stop
    for gamma, v0, action in ((0.9, 0.9, 0), (0.4, 0.5, 1)):
        r = value_iteration(mdp, gamma, theta=1e-12)
        assert r.converged and r.V == pytest.approx([v0, 1.0], abs=1e-12) and r.policy[0] == action
        assert r.Q[0] == pytest.approx([gamma, 0.5])
    # expectation backup of "always a1" from V = 0: V(0) = 0.5, V(1) = 1
    assert bellman_expectation_backup(mdp, np.array([1, 1]), np.zeros(2), 0.9) == pytest.approx([0.5, 1.0])


def test_frozen_lake_model_is_read_from_gymnasium(frozen_lake):
    mdp = frozen_lake
    assert (mdp.n_states, mdp.n_actions) == (16, 4)
    assert np.allclose(mdp.P.sum(-1), 1.0) and mdp.start.tolist() == [1.0] + [0.0] * 15
    # holes (5, 7, 11, 12) and the goal (15) end the episode: no continuation; a goal step pays 1
    terminal = [5, 7, 11, 12, 15]
    assert np.all(mdp.C[terminal] == 0) and np.all(mdp.C.sum(-1)[[0, 1, 14]] > 0)
    assert mdp.R[14, 2] == pytest.approx(1 / 3) and mdp.R[0].tolist() == [0.0] * 4


def test_value_iteration_converges_to_the_bellman_fixed_point(frozen_lake):
    r = value_iteration(frozen_lake, 1.0, theta=1e-12)
    assert r.converged and r.residual < 1e-12
    assert bellman_residual(frozen_lake, r.V, 1.0) < 1e-12
    # V*(start) of slippery FrozenLake 4x4 without discount is 14/17
    assert r.V[0] == pytest.approx(14 / 17, abs=1e-9)
    # the greedy policy's own value equals V* (policy evaluation, and policy iteration)
    assert policy_evaluation(frozen_lake, r.policy, 1.0, theta=1e-13).V == pytest.approx(r.V, abs=1e-9)
    pi = policy_iteration(frozen_lake, 0.9, theta=1e-12)
    vi = value_iteration(frozen_lake, 0.9, theta=1e-12)
    assert pi.converged and pi.V == pytest.approx(vi.V, abs=1e-9) and (pi.policy == vi.policy).all()
    assert bellman_residual(frozen_lake, pi.V, 0.9, policy=pi.policy) < 1e-10
    # an unconverged V has a large residual
    assert bellman_residual(frozen_lake, np.zeros(16), 1.0) == pytest.approx(1 / 3)


def test_simulated_success_rate_matches_v_star_and_gymnasium(frozen_lake):
    r = value_iteration(frozen_lake, 1.0, theta=1e-12)
    returns, lengths = simulate(frozen_lake, r.policy, 20_000, rng=1)
    se = np.sqrt(r.V[0] * (1 - r.V[0]) / returns.size)
    assert abs(returns.mean() - r.V[0]) < 4 * se and lengths.min() >= 6
    # the same policy in the real environment (no time limit), 300 episodes
    env = envs.make(envs.FROZEN_LAKE, seed=3, max_episode_steps=100_000)
    wins = 0
    for _ in range(300):
        s, _ = env.reset()
        while True:
            s, reward, terminated, truncated, _ = env.step(int(r.policy[s]))
            if terminated or truncated:
                wins += reward
                break
    assert abs(wins / 300 - returns.mean()) < 4 * np.sqrt(r.V[0] * (1 - r.V[0]) / 300)
    capped, capped_len = simulate(frozen_lake, r.policy, 1000, rng=1, max_steps=10)
    assert capped_len.max() == 10 and capped.mean() < returns.mean()


def test_dp_rejects_bad_input(frozen_lake):
    with pytest.raises(ConfigError, match=r"value_iteration: gamma must be in \[0, 1\], got 1.5"):
        value_iteration(frozen_lake, 1.5)
    with pytest.raises(ConfigError, match="policy_evaluation: theta must be > 0, got 0"):
        policy_evaluation(frozen_lake, np.zeros(16, int), 0.9, theta=0)
    with pytest.raises(ShapeError, match=r"policy: must be \(S,\) int actions or \(S, A\) = \(16, 4\)"):
        policy_evaluation(frozen_lake, np.zeros(15, int), 0.9)
    with pytest.raises(ConfigError, match=r"policy: actions must be in \[0, 4\)"):
        policy_evaluation(frozen_lake, np.full(16, 4), 0.9)
    with pytest.raises(ShapeError, match=r"q_from_v: V must be \(S,\) = \(16,\), got \(4,\)"):
        q_from_v(frozen_lake, np.zeros(4), 0.9)
    with pytest.raises(ShapeError, match=r"greedy_policy: Q must be \(S, A\)"):
        greedy_policy(np.zeros(3))
    with pytest.raises(ShapeError, match=r"simulate: policy must be \(S,\) = \(16,\) int actions"):
        simulate(frozen_lake, np.zeros(16), 10, 0)
    with pytest.raises(ConfigError, match="each prob"):
        TabularMDP(np.full((1, 1, 1), 0.5), [[[0]]], [[[0.0]]], [[[True]]], [1.0])
    with pytest.raises(ShapeError, match=r"TabularMDP: reward must have prob's shape \(1, 1, 1\), got \(2,\)"):
        TabularMDP(np.ones((1, 1, 1)), [[[0]]], [0.0, 1.0], [[[True]]], [1.0])
    with pytest.raises(ConfigError, match="has no transition table"):
        TabularMDP.from_gymnasium(envs.make(envs.CART_POLE, seed=0))
