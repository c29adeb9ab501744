import gymnasium as gym
import numpy as np
import pytest

from glassnet.autograd import Tensor
from glassnet.errors import ConfigError, ShapeError
from glassnet.functional import huber_loss
from glassnet.rl.dqn import DQN, ReplayBuffer, q_regression_loss, td_targets, train_dqn

from .conftest import Line

torch = pytest.importorskip("torch")


def test_td_targets_by_hand():
    q_next = np.array([[1.0, 3.0], [2.0, -1.0], [5.0, 4.0]])
    y = td_targets(q_next, np.array([1.0, 0.0, 2.0]), np.array([False, False, True]), gamma=0.5)
    # 1 + 0.5 * 3; 0 + 0.5 * 2; terminal: r only
    assert y.tolist() == [2.5, 1.0, 2.0]
    with pytest.raises(ShapeError, match=r"td_targets: q_next must be \(N, A\)"):
        td_targets(q_next, np.zeros(2), np.zeros(3, bool), 0.5)
    with pytest.raises(ConfigError, match=r"td_targets: gamma must be in \[0, 1\], got 1.5"):
        td_targets(q_next, np.zeros(3), np.zeros(3, bool), 1.5)


def test_huber_loss_matches_torch_values_and_gradients():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 2, 50), rng.normal(0, 2, 50)
    for delta in (1.0, 0.5):
        gx = Tensor(x.copy(), requires_grad=True)
        loss = huber_loss(gx, y, delta)
        loss.backward()
        tx = torch.tensor(x, requires_grad=True)
        tl = torch.nn.functional.huber_loss(tx, torch.tensor(y), delta=delta)
        tl.backward()
        assert loss.item() == pytest.approx(tl.item(), abs=1e-12)
        assert np.allclose(gx.grad, tx.grad.numpy(), atol=1e-12)
    with pytest.raises(ConfigError, match="huber_loss: delta must be > 0, got 0"):
        huber_loss(gx, y, 0)
    with pytest.raises(ShapeError, match="huber_loss: x and y must have one shape"):
        huber_loss(gx, y[:3])


def test_q_regression_loss_only_touches_the_actions_taken():
    q = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    loss = q_regression_loss(q, np.array([1, 0]), np.array([0.0, 3.5]), loss="mse")
    # ((2 - 0)² + (3 - 3.5)²) / 2
    assert loss.item() == pytest.approx(2.125)
    loss.backward()
    assert q.grad.tolist() == [[0.0, 2.0], [-0.5, 0.0]]
    with pytest.raises(ConfigError, match="loss must be 'huber' or 'mse', got 'l1'"):
        q_regression_loss(q, np.array([1, 0]), np.zeros(2), loss="l1")


def test_replay_buffer_is_a_ring_and_samples_what_it_holds():
    buf = ReplayBuffer(3, 1, rng=0)
    for i in range(5):
        buf.add([i], i % 2, float(i), [i + 1], i == 4)
    assert len(buf) == 3 and sorted(buf.obs[:, 0].tolist()) == [2.0, 3.0, 4.0]
    batch = buf.sample(64)
    assert batch.obs.shape == (64, 1) and set(batch.obs[:, 0].tolist()) == {2.0, 3.0, 4.0}
    assert np.array_equal(batch.next_obs[:, 0], batch.obs[:, 0] + 1) and np.array_equal(batch.rewards, batch.obs[:, 0])
    assert np.array_equal(batch.terminated, batch.obs[:, 0] == 4)
    with pytest.raises(ConfigError, match="ReplayBuffer.sample: need a non-empty buffer"):
        ReplayBuffer(3, 1).sample(2)
    with pytest.raises(ConfigError, match="ReplayBuffer: capacity and obs_dim must be >= 1, got 0, 1"):
        ReplayBuffer(0, 1)


def test_train_dqn_stores_truncation_as_non_terminal_and_syncs_the_target():
    env = gym.wrappers.TimeLimit(Line(3), max_episode_steps=2)  # truncated after 2 steps
    agent = DQN(1, 2, hidden=(8,), batch_size=4, target_update=3, rng=0)
    returns = train_dqn(agent, env, steps=6, epsilon=1.0, learning_starts=2)
    assert returns == [2.0, 2.0, 2.0] and len(agent.buffer) == 6
    assert not agent.buffer.terminated[:6].any()
    env = Line(2)  # terminates after 2 steps
    agent = DQN(1, 2, hidden=(8,), batch_size=4, target_update=3, rng=0)
    train_dqn(agent, env, steps=4, epsilon=1.0, learning_starts=1)
    assert agent.buffer.terminated[:4].tolist() == [False, True, False, True]
    # 3 updates (steps 1, 2, 3): the target was just synced; one more update makes them differ
    assert agent.updates == 3
    same = lambda: all(np.array_equal(a, b) for a, b in zip(agent.q_network.state_dict().values(),  # noqa: E731
                                                             agent.target_network.state_dict().values()))
    assert same()
    agent.update()
    assert not same()


def test_dqn_acts_greedily_at_epsilon_zero_and_checks_arguments():
    agent = DQN(4, 3, hidden=(8,), rng=0)
    obs = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    assert np.array_equal(agent.act(obs, 0.0), agent.q_values(obs).argmax(1))
    with pytest.raises(ConfigError, match=r"DQN: gamma must be in \[0, 1\], got -1"):
        DQN(4, 2, gamma=-1)
    with pytest.raises(ConfigError, match="DQN: need lr > 0, batch_size >= 1, target_update >= 1"):
        DQN(4, 2, target_update=0)
    with pytest.raises(ConfigError, match="train_dqn: steps and train_every must be >= 1, got 0, 1"):
        train_dqn(agent, Line(2), steps=0, epsilon=0.1)
