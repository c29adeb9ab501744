import numpy as np
import pytest

from glassnet.errors import ConfigError, ShapeError
from glassnet.rl.td import (
    epsilon_greedy,
    greedy_action,
    greedy_rollout,
    q_learning_episode,
    q_learning_update,
    sarsa_episode,
    sarsa_update,
    train_tabular,
)

# Q = [[0, 1], [1, 3]], transition (s=0, a=1, r=2, s'=1), alpha=0.5, gamma=0.5


def table():
    return np.array([[0.0, 1.0], [1.0, 3.0]])


def test_q_learning_update_bootstraps_from_max_unless_terminated():
    Q = table()
    delta = q_learning_update(Q, 0, 1, 2.0, 1, False, alpha=0.5, gamma=0.5)
    # target = 2 + 0.5 * max(1, 3) = 3.5; delta = 3.5 - 1 = 2.5; Q = 1 + 0.5 * 2.5
    assert delta == 2.5 and Q[0, 1] == 2.25
    assert Q[1].tolist() == [1.0, 3.0] and Q[0, 0] == 0.0
    Q = table()
    delta = q_learning_update(Q, 0, 1, 2.0, 1, True, alpha=0.5, gamma=0.5)
    # terminal: target = r = 2; delta = 1; Q = 1.5
    assert delta == 1.0 and Q[0, 1] == 1.5


def test_sarsa_update_bootstraps_from_the_next_action_unless_terminated():
    Q = table()
    delta = sarsa_update(Q, 0, 1, 2.0, 1, 0, False, alpha=0.5, gamma=0.5)
    # target = 2 + 0.5 * Q(1, 0) = 2.5 (not the max 3); delta = 1.5; Q = 1.75
    assert delta == 1.5 and Q[0, 1] == 1.75
    Q = table()
    sarsa_update(Q, 0, 1, 2.0, 1, 0, True, alpha=0.5, gamma=0.5)
    assert Q[0, 1] == 1.5


@pytest.mark.parametrize("episode", [q_learning_episode, sarsa_episode])
def test_episode_runner_terminated_does_not_bootstrap_truncated_does(chain, episode):
    terminating, truncating = chain
    rng = np.random.default_rng(0)
    for env, expected, flags in ((terminating, 1.0, (True, False)), (truncating, 1.0 + 0.5 * 4.0, (False, True))):
        Q = np.array([[0.0, 0.0], [4.0, 2.0]])
        stats = episode(env, Q, alpha=1.0, gamma=0.5, epsilon=0.0, rng=rng)
        assert (stats.terminated, stats.truncated) == flags and stats.length == 1 and stats.ret == 1.0
        # the greedy first action (random tie 0/1) got target 1 (terminal) or 1 + 0.5 * Q(1, 0) = 3 (truncated)
        assert Q[0].max() == expected and Q[0].min() == 0.0


def test_greedy_action_breaks_ties_at_random_and_epsilon_explores():
    rng = np.random.default_rng(1)
    picks = {greedy_action(np.array([1.0, 0.0, 1.0]), rng) for _ in range(50)}
    assert picks == {0, 2}
    assert {epsilon_greedy(np.array([0.0, 5.0, 0.0]), 0.0, rng) for _ in range(20)} == {1}
    explored = [epsilon_greedy(np.array([0.0, 5.0, 0.0]), 1.0, rng) for _ in range(300)]
    assert set(explored) == {0, 1, 2}
    with pytest.raises(ConfigError, match=r"epsilon_greedy: epsilon must be in \[0, 1\], got 1.5"):
        epsilon_greedy(np.zeros(2), 1.5, rng)


def test_update_rules_reject_bad_input():
    with pytest.raises(ShapeError, match=r"q_learning_update: Q must be \(S, A\), got \(4,\)"):
        q_learning_update(np.zeros(4), 0, 0, 1.0, 1, False, 0.5, 0.9)
    with pytest.raises(ConfigError, match=r"sarsa_update: alpha must be in \(0, 1\], got 0.0"):
        sarsa_update(np.zeros((2, 2)), 0, 0, 1.0, 1, 0, False, 0.0, 0.9)
    with pytest.raises(ConfigError, match=r"q_learning_update: gamma must be in \[0, 1\], got 1.1"):
        q_learning_update(np.zeros((2, 2)), 0, 0, 1.0, 1, False, 0.5, 1.1)


def test_train_tabular_learns_the_chain_and_checks_arguments(chain):
    terminating, _ = chain
    Q, stats = train_tabular(terminating, "q_learning", 20, alpha=1.0, gamma=0.9, epsilon=1.0, rng=0)
    assert Q[0].tolist() == [1.0, 1.0] and len(stats) == 20
    assert greedy_rollout(terminating, Q) == (1.0, [0, 1])
    with pytest.raises(ConfigError, match="algorithm must be one of q_learning, sarsa, got 'td0'"):
        train_tabular(terminating, "td0", 1, 0.5, 0.9, 0.1, 0)
    with pytest.raises(ShapeError, match=r"Q0 must be \(S, A\) = \(2, 2\), got \(3, 2\)"):
        train_tabular(terminating, "sarsa", 1, 0.5, 0.9, 0.1, 0, Q0=np.zeros((3, 2)))
