"""Reinforcement learning on glassnet, one small module per idea.

* :mod:`~glassnet.rl.envs` -- gymnasium environments pinned by id, seeded in one place.
* :mod:`~glassnet.rl.bandits` -- the k-armed testbed; epsilon-greedy, optimistic initial values, UCB.
* :mod:`~glassnet.rl.dynamic_programming` -- the tabular model of an env; policy evaluation,
  policy iteration, value iteration; Bellman backups and residuals.
* :mod:`~glassnet.rl.schedules` -- epsilon and step-size schedules.
* :mod:`~glassnet.rl.td` -- tabular Q-learning and SARSA.
* :mod:`~glassnet.rl.returns` -- discounted returns G_t and their normalisation.
* :mod:`~glassnet.rl.rollout` -- whole episodes in several envs side by side; evaluation.
* :mod:`~glassnet.rl.networks` -- the small MLPs of the neural agents.
* :mod:`~glassnet.rl.reinforce` -- REINFORCE with a learned baseline (policy gradient).
* :mod:`~glassnet.rl.dqn` -- DQN: Q-network, replay buffer, target network.

Import the submodule you need (``from glassnet.rl.td import q_learning_update``);
the neural ones pull in glassnet.nn and glassnet.optim, the tabular ones only NumPy.
"""
