import numpy as np
import pytest

from glassnet.errors import ConfigError, ShapeError
from glassnet.rl.bandits import UCB, EpsilonGreedy, argmax_random_ties, make_testbed, run_testbed


def test_argmax_random_ties_picks_among_maxima_only():
    values = np.array([[1.0, 3.0, 3.0], [5.0, 0.0, 0.0]])
    picks = np.stack([argmax_random_ties(values, np.random.default_rng(i)) for i in range(40)])
    assert set(picks[:, 0]) == {1, 2} and set(picks[:, 1]) == {0}


def test_ucb_tries_every_arm_once_then_exploits_a_clear_winner():
    q_star = np.tile([0.0, 10.0, 0.0], (50, 1))
    curves = run_testbed(UCB(c=2.0), q_star, 40, rng=0)
    # each run pulls the best arm exactly once among the first three steps (one pull of each arm) ...
    assert curves.optimal[:3].sum() == pytest.approx(1.0)
    # ... and then only the best arm: its lead (10) beats the bonus 2 sqrt(ln 40 / 1) < 4
    assert np.all(curves.optimal[3:] == 1.0)


def test_sample_average_estimates_and_greedy_trap():
    q_star = np.tile([0.0, 1.0], (400, 1))
    greedy = run_testbed(EpsilonGreedy(epsilon=0.0), q_star, 200, rng=1)
    optimistic = run_testbed(EpsilonGreedy(epsilon=0.0, initial=5.0, step_size=0.1), q_star, 200, rng=1)
    explorer = run_testbed(EpsilonGreedy(epsilon=0.1), q_star, 200, rng=1)
    # greedy with Q1 = 0 sticks with the worse arm when its first reward was positive (about 1 run in 9)
    assert greedy.optimal[-50:].mean() < 0.95
    assert optimistic.optimal[-50:].mean() > 0.98 and explorer.optimal[-50:].mean() > 0.9
    # the reward curve is the mean of rewards whose expectation is q*(a): close to the optimal fraction here
    assert abs(explorer.reward[-100:].mean() - explorer.optimal[-100:].mean()) < 0.05


def test_testbed_is_seeded_and_checks_input():
    assert np.array_equal(make_testbed(3, 10, 7), make_testbed(3, 10, 7))
    with pytest.raises(ConfigError, match="make_testbed: need n_runs >= 1 and k >= 2, got n_runs=3, k=1"):
        make_testbed(3, 1, 0)
    with pytest.raises(ShapeError, match=r"run_testbed: q_star must be \(R, k\), got \(10,\)"):
        run_testbed(UCB(), np.zeros(10), 5, 0)
    with pytest.raises(ConfigError, match=r"EpsilonGreedy: epsilon must be in \[0, 1\], got 2"):
        EpsilonGreedy(epsilon=2)
    with pytest.raises(ConfigError, match="UCB: c must be > 0, got 0"):
        UCB(c=0)
    with pytest.raises(ConfigError, match="step_size must be None"):
        EpsilonGreedy(step_size=0.0)
