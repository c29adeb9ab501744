import numpy as np
import pytest

from glassnet.errors import ConfigError, NonFiniteError, ShapeError
from glassnet.rl.returns import discounted_returns, normalize_returns


def test_discounted_returns_by_hand():
    assert discounted_returns([1, 1, 1], 0.5).tolist() == [1.75, 1.5, 1.0]
    # truncated: G_T = V(s_T) = 4 -> G_2 = 1 + 2, G_1 = 1 + 1.5, G_0 = 1 + 1.25
    assert discounted_returns([1, 1, 1], 0.5, bootstrap=4.0).tolist() == [2.25, 2.5, 3.0]
    assert discounted_returns([0, 0, 2], 1.0).tolist() == [2.0, 2.0, 2.0]


def test_normalize_returns_is_finite_for_one_step_and_all_zero():
    assert normalize_returns(np.array([7.0])).tolist() == [0.0]
    assert normalize_returns(np.zeros(5)).tolist() == [0.0] * 5
    assert normalize_returns(np.full(3, 1e8)).tolist() == [0.0] * 3
    z = normalize_returns(np.array([1.0, 2.0, 3.0, 10.0]))
    assert np.isfinite(z).all() and z.mean() == pytest.approx(0, abs=1e-12) and z.std() == pytest.approx(1, abs=1e-6)


def test_returns_reject_bad_input():
    with pytest.raises(ShapeError, match=r"discounted_returns: rewards must be \(T,\) with T >= 1, got \(0,\)"):
        discounted_returns([], 0.9)
    with pytest.raises(ConfigError, match=r"discounted_returns: gamma must be in \[0, 1\], got -0.1"):
        discounted_returns([1.0], -0.1)
    with pytest.raises(NonFiniteError, match="normalize_returns: G holds NaN or inf"):
        normalize_returns(np.array([1.0, np.nan]))
    with pytest.raises(ShapeError, match=r"normalize_returns: G must be \(T,\)"):
        normalize_returns(np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="normalize_returns: eps must be > 0, got 0"):
        normalize_returns(np.zeros(2), eps=0)
