"""Value iteration on FrozenLake: V*(start) is the success probability of the greedy policy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.rl.frozen_lake import plot_value_map
from glassnet.rl import envs
from glassnet.rl.dynamic_programming import TabularMDP, bellman_residual, policy_iteration, simulate, value_iteration


# FrozenLake's actions: 0 left, 1 down, 2 right, 3 up, as (dx, dy) on a plot whose y axis points down
class ValueIteration(Experiment):
    name = "value-iteration"
    topic = "Reinforcement learning"
    claim = (
        "Value iteration solves the Bellman optimality equation: on FrozenLake with gamma = 1 and no time "
        "limit, V*(start) is the probability that the greedy policy reaches the goal."
    )
    criterion = (
        "For each map, value iteration stops on a Bellman residual < theta, and the greedy policy's success "
        "rate over `episodes` simulated episodes (the env's own transition model, no time limit) lies within "
        "`sigmas` standard errors of V*(start), SE = sqrt(V*(1 - V*)/n) floored at 1/n."
    )

    @dataclass
    class Config:
        maps: tuple = field(default=("4x4", "8x8"), metadata={"help": "FrozenLake map names"})
        gamma: float = field(default=1.0, metadata={"help": "discount (1: V* is a success probability)"})
        theta: float = field(default=1e-10, metadata={"help": "stop when the Bellman residual is below this"})
        episodes: int = field(default=10_000, metadata={"help": "Monte Carlo episodes of the greedy policy"})
        sigmas: float = field(default=3.0, metadata={"help": "allowed distance in standard errors"})

    quick = {"episodes": 2000}
    quick_criterion = (
        "the full rule with 2000 simulated episodes per map (4x4, 8x8): value iteration stops on a Bellman "
        "residual < theta and the greedy policy's success rate lies within 3 standard errors of V*(start), "
        "SE = sqrt(V*(1 - V*)/2000) floored at 1/2000"
    )

    def run(self, config, ctx):
        fig, axes = ctx.figure(1, len(config.maps), size=(5 * len(config.maps), 4.5), squeeze=False)
        table, metrics, ok = [], {}, True
        # one independent generator per map: its env seed and its Monte Carlo episodes
        for ax, map_name, rng in zip(axes[0], config.maps, ctx.spawn(len(config.maps))):
            env = envs.make(envs.FROZEN_LAKE, seed=envs.seed_for(rng), map_name=map_name)
            mdp = TabularMDP.from_gymnasium(env)
            vi = value_iteration(mdp, config.gamma, theta=config.theta)
            pi = policy_iteration(mdp, config.gamma, theta=config.theta)
            returns, lengths = simulate(mdp, vi.policy, config.episodes, rng, gamma=1.0)
            v_start = float(mdp.start @ vi.V)
            rate = float(returns.mean())
            se = max(math.sqrt(v_start * (1.0 - v_start) / config.episodes), 1.0 / config.episodes)
            within = abs(rate - v_start) <= config.sigmas * se
            ok = ok and vi.converged and within
            row = {
                "map": map_name, "sweeps": vi.iterations, "residual": vi.residual,
                "V*(start)": v_start, "MC success": rate, "SE": se, "|diff|/SE": abs(rate - v_start) / se,
                "mean length": float(lengths.mean()), "PI max|V-V_VI|": float(np.abs(pi.V - vi.V).max()),
            }
            table.append(row)
            metrics[map_name] = {
                **row, "residual_check": bellman_residual(mdp, vi.V, config.gamma), "within": bool(within),
            }
            plot_value_map(ax, env.unwrapped.desc, vi.V, vi.policy,
                           f"FrozenLake {map_name}: V* (gamma={config.gamma:g}) and greedy policy")
        ctx.savefig(fig, "value_maps")
        return Outcome(verdict_from(ok), metrics, table)
