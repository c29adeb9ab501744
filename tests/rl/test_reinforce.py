import numpy as np
import pytest

import glassnet.functional as F
from glassnet.autograd import Tensor
from glassnet.errors import ConfigError, ShapeError
from glassnet.rl.reinforce import Reinforce, policy_gradient_loss, sample_actions
from glassnet.rl.rollout import Trajectory

torch = pytest.importorskip("torch")


def test_policy_gradient_loss_gradient_is_advantage_times_softmax_minus_onehot():
    z = np.array([[0.0, np.log(3.0)], [1.0, 1.0], [2.0, 0.0]])
    logits = Tensor(z, requires_grad=True)
    actions, adv = np.array([1, 0, 0]), np.array([2.0, -1.0, 0.5])
    loss = policy_gradient_loss(logits, actions, adv)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)  # row 0: (1/4, 3/4)
    expected = -(adv * np.log(p[np.arange(3), actions])).mean()
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    loss.backward()
    onehot = np.eye(2)[actions]
    assert np.allclose(logits.grad, (adv / 3)[:, None] * (p - onehot), atol=1e-12)
    # row 0 by hand: (2/3) * ((1/4, 3/4) - (0, 1)) = (1/6, -1/6)
    assert logits.grad[0] == pytest.approx([1 / 6, -1 / 6])
    t = torch.tensor(z, requires_grad=True)
    tl = -(torch.tensor(adv) * torch.log_softmax(t, -1)[torch.arange(3), torch.tensor(actions)]).mean()
    tl.backward()
    assert np.allclose(logits.grad, t.grad.numpy(), atol=1e-12)


def test_sample_actions_follows_the_probabilities():
    rng = np.random.default_rng(0)
    assert sample_actions(np.array([[1.0, 0.0], [0.0, 1.0]]), rng).tolist() == [0, 1]
    draws = sample_actions(np.tile([0.25, 0.75], (40_000, 1)), rng)
    assert abs(draws.mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 40_000)


def make_traj(rewards, terminated):
    T = len(rewards)
    return Trajectory(np.zeros((T, 4), np.float32) + np.arange(T, dtype=np.float32)[:, None],
                      np.zeros(T, np.int64), np.asarray(rewards, float), np.ones(4, np.float32),
                      terminated, not terminated)


def test_returns_bootstrap_from_the_baseline_only_when_truncated():
    agent = Reinforce(4, 2, hidden=(8,), gamma=0.5, rng=0)
    v_final = float(agent.value(np.ones((1, 4), np.float32))[0])
    assert agent.returns(make_traj([1.0, 1.0], terminated=True)).tolist() == [1.5, 1.0]
    G = agent.returns(make_traj([1.0, 1.0], terminated=False))
    assert G == pytest.approx([1.5 + 0.25 * v_final, 1.0 + 0.5 * v_final], abs=1e-6)


def test_update_moves_both_networks_and_stays_finite_on_one_step_episodes():
    agent = Reinforce(4, 2, hidden=(8,), lr=1e-2, baseline_lr=1e-2, rng=1)
    before = [p.data.copy() for p in (*agent.policy.parameters(), *agent.baseline.parameters())]
    # a batch of one one-step episode: the normalised advantage is 0, the baseline still learns
    losses = agent.update([make_traj([1.0], terminated=True)])
    assert all(np.isfinite(v) for v in losses.values())
    after = [p.data for p in (*agent.policy.parameters(), *agent.baseline.parameters())]
    n_policy = len(list(agent.policy.parameters()))
    assert all(np.array_equal(b, a) for b, a in zip(before[:n_policy], after[:n_policy]))  # zero advantage
    assert not all(np.array_equal(b, a) for b, a in zip(before[n_policy:], after[n_policy:]))
    # the baseline regresses towards the returns
    batch = [make_traj([1.0, 1.0, 1.0], terminated=True)] * 2
    first = agent.update(batch)["baseline_loss"]
    for _ in range(150):
        last = agent.update(batch)["baseline_loss"]
    assert last < 0.01 * first


def test_reinforce_rejects_bad_input():
    with pytest.raises(ConfigError, match=r"Reinforce: gamma must be in \[0, 1\], got 2"):
        Reinforce(4, 2, gamma=2)
    with pytest.raises(ConfigError, match="Reinforce: learning rates must be > 0"):
        Reinforce(4, 2, lr=0)
    with pytest.raises(ShapeError, match=r"policy_gradient_loss: logits must be \(N, A\)"):
        policy_gradient_loss(F.reshape(Tensor(np.zeros(4)), (2, 2)), np.zeros(3, int), np.zeros(2))
