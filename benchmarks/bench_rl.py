"""Environment steps per second of glassnet's RL agents, against PyTorch versions of the same networks.

Measured in one run, on CPU, one BLAS/OpenMP thread for NumPy and torch:

* tabular Q-learning (``glassnet.rl.td``) on FrozenLake-v1 and CliffWalking-v1, next to the raw
  environment stepping with random actions (the ceiling any agent can reach);
* REINFORCE with baseline on CartPole-v1: episodes played 4 side by side, one update per batch;
* DQN on CartPole-v1: one epsilon-greedy step and one minibatch update (N = 64) per env step.

For the neural agents the PyTorch version shares everything but the networks, the loss and the
optimizer: the same rollout code, replay buffer, return and target computations (NumPy helpers of
glassnet.rl), the same layer sizes, Adam and gradient clipping. Each agent trains from scratch for
a fixed budget; throughput is env steps / wall seconds (best of the repeats, round-robin).

Usage::

    python benchmarks/bench_rl.py
    python benchmarks/bench_rl.py --repeats 3 --dqn-steps 3000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from glassnet.rl import envs
from glassnet.rl.dqn import DQN, ReplayBuffer, td_targets, train_dqn
from glassnet.rl.reinforce import Reinforce, sample_actions
from glassnet.rl.returns import discounted_returns, normalize_returns
from glassnet.rl.rollout import run_episodes
from glassnet.rl.td import q_learning_episode


def torch_mlp(sizes):
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(d_in, d_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class TorchReinforce:
    """glassnet.rl.reinforce.Reinforce with torch networks (same algorithm, same helpers)."""

    def __init__(self, obs_dim, n_actions, hidden=(64,), lr=5e-3, baseline_lr=1.5e-2, gamma=0.99, rng=None):
        self.rng = np.random.default_rng(rng)
        self.policy = torch_mlp((obs_dim, *hidden, n_actions))
        self.baseline = torch_mlp((obs_dim, *hidden, 1))
        self.policy_opt = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.baseline_opt = torch.optim.Adam(self.baseline.parameters(), lr=baseline_lr)
        self.gamma = gamma

    @torch.no_grad()
    def act(self, obs):
        probs = torch.softmax(self.policy(torch.from_numpy(obs)), -1).numpy()
        return sample_actions(probs, self.rng)

    def update(self, trajectories):
        def returns(t):
            bootstrap = 0.0
            if t.truncated:
                with torch.no_grad():
                    bootstrap = float(self.baseline(torch.from_numpy(t.final_obs[None]))[0, 0])
            return discounted_returns(t.rewards, self.gamma, bootstrap)

        obs = torch.from_numpy(np.concatenate([t.obs for t in trajectories]))
        actions = torch.from_numpy(np.concatenate([t.actions for t in trajectories]))
        G = torch.from_numpy(np.concatenate([returns(t) for t in trajectories]).astype(np.float32))
        values = self.baseline(obs)[:, 0]
        adv = torch.from_numpy(normalize_returns((G - values.detach()).numpy()).astype(np.float32))
        log_pi = torch.log_softmax(self.policy(obs), -1)[torch.arange(len(actions)), actions]
        for loss, opt in ((-(log_pi * adv).mean(), self.policy_opt),
                          (torch.nn.functional.mse_loss(values, G), self.baseline_opt)):
            opt.zero_grad()
            loss.backward()
            opt.step()


class TorchDQN:
    """glassnet.rl.dqn.DQN with torch networks (same buffer, targets, Huber loss, clipping)."""

    def __init__(self, obs_dim, n_actions, hidden=(128, 128), lr=1e-3, gamma=0.99, batch_size=64,
                 buffer_size=50_000, target_update=500, rng=None):
        self.rng = np.random.default_rng(rng)
        self.n_actions = n_actions
        self.q_network = torch_mlp((obs_dim, *hidden, n_actions))
        self.target_network = torch_mlp((obs_dim, *hidden, n_actions))
        self.target_network.load_state_dict(self.q_network.state_dict())
        self.optimizer = torch.optim.Adam(self.q_network.parameters(), lr=lr)
        self.buffer = ReplayBuffer(buffer_size, obs_dim, self.rng)
        self.gamma, self.batch_size, self.target_update = gamma, batch_size, target_update
        self.updates = 0

    def act(self, obs, epsilon=0.0):
        with torch.no_grad():
            greedy = self.q_network(torch.from_numpy(np.asarray(obs, dtype=np.float32))).argmax(-1).numpy()
        explore = self.rng.random(greedy.shape[0]) < epsilon
        return np.where(explore, self.rng.integers(self.n_actions, size=greedy.shape[0]), greedy)

    def observe(self, obs, action, reward, next_obs, terminated):
        self.buffer.add(obs, action, reward, next_obs, terminated)

    def update(self):
        b = self.buffer.sample(self.batch_size)
        with torch.no_grad():
            q_next = self.target_network(torch.from_numpy(b.next_obs)).numpy()
        y = torch.from_numpy(td_targets(q_next, b.rewards, b.terminated, self.gamma))
        q = self.q_network(torch.from_numpy(b.obs))[torch.arange(self.batch_size), torch.from_numpy(b.actions)]
        loss = torch.nn.functional.huber_loss(q, y)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.q_network.parameters(), 10.0)
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.target_update == 0:
            self.target_network.load_state_dict(self.q_network.state_dict())
        return loss.item()


def tabular_runs(env_id: str, episodes: int):
    def raw():
        env = envs.make(env_id, seed=0)
        rng = np.random.default_rng(0)
        steps = 0
        for _ in range(episodes):
            env.reset()
            while True:
                _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
                steps += 1
                if terminated or truncated or steps > 200 * episodes:
                    break
        return steps

    def q_learning():
        env = envs.make(env_id, seed=0)
        Q = np.zeros((env.observation_space.n, env.action_space.n))
        rng = np.random.default_rng(0)
        return sum(q_learning_episode(env, Q, 0.5, 0.99, 0.1, rng).length for _ in range(episodes))

    return {"random actions (env only)": raw, "Q-learning": q_learning}


def reinforce_run(agent_cls, iterations: int):
    def run():
        rng = np.random.default_rng(0)
        train_envs = [envs.make(envs.CART_POLE, seed=envs.seed_for(rng)) for _ in range(4)]
        agent = agent_cls(4, 2, hidden=(64,), lr=5e-3, baseline_lr=1.5e-2, gamma=0.99, rng=rng)
        steps = 0
        for _ in range(iterations):
            batch = run_episodes(train_envs, agent.act)
            agent.update(batch)
            steps += sum(len(t) for t in batch)
        return steps

    return run


def dqn_run(agent_cls, steps: int):
    def run():
        rng = np.random.default_rng(0)
        env = envs.make(envs.CART_POLE, seed=envs.seed_for(rng))
        agent = agent_cls(4, 2, hidden=(128, 128), lr=1e-3, gamma=0.99, batch_size=64, target_update=500, rng=rng)
        train_dqn(agent, env, steps, 0.1, learning_starts=100, train_every=1)
        return steps

    return run


def best_rate(runs: dict, repeats: int) -> dict:
    """Best env-steps-per-second of each run over ``repeats`` round-robin rounds (interference only adds time)."""
    best = {name: 0.0 for name in runs}
    for run in runs.values():  # warm-up: first calls pay for imports, allocator and kernel selection
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            steps = run()
            best[name] = max(best[name], steps / (time.perf_counter() - t0))
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="round-robin rounds (the best is reported)")
    parser.add_argument("--tabular-episodes", type=int, default=300, help="episodes per tabular measurement")
    parser.add_argument("--reinforce-iterations", type=int, default=40, help="REINFORCE batches of 4 episodes")
    parser.add_argument("--dqn-steps", type=int, default=2000, help="DQN environment steps (one update each)")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, numpy {np.__version__}; 1 BLAS/OpenMP thread; best of {args.repeats}\n")
    rows = []
    with threadpool_limits(1):
        for env_id in (envs.FROZEN_LAKE, envs.CLIFF_WALKING):
            rates = best_rate(tabular_runs(env_id, args.tabular_episodes), args.repeats)
            raw, q = rates["random actions (env only)"], rates["Q-learning"]
            rows.append((f"tabular Q-learning, {env_id}", "env only (random)", raw, q, "Q-learning / env only",
                         q / raw))
        for label, runs in (
            ("REINFORCE+baseline, CartPole-v1", {"torch": reinforce_run(TorchReinforce, args.reinforce_iterations),
                                                "glassnet": reinforce_run(Reinforce, args.reinforce_iterations)}),
            ("DQN, CartPole-v1", {"torch": dqn_run(TorchDQN, args.dqn_steps),
                                  "glassnet": dqn_run(DQN, args.dqn_steps)}),
        ):
            rates = best_rate(runs, args.repeats)
            rows.append((label, "PyTorch", rates["torch"], rates["glassnet"], "glassnet / PyTorch",
                         rates["glassnet"] / rates["torch"]))

    header = f"{'workload':38} {'reference':18} {'ref steps/s':>11} {'ours steps/s':>12}   {'ratio':>25}"
    print(header)
    print("-" * len(header))
    for label, ref_name, ref, ours, ratio_name, ratio in rows:
        print(f"{label:38} {ref_name:18} {ref:11.0f} {ours:12.0f}   {ratio_name:>19} {ratio:5.2f}")


if __name__ == "__main__":
    main()
