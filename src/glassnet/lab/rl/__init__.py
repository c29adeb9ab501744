"""Reinforcement learning: bandits, dynamic programming, TD control, policy gradients, DQN."""

TOPIC = "Reinforcement learning"
