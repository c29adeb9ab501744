"""Exploration vs exploitation on the 10-armed testbed (Sutton & Barto, section 2.3, figure 2.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.errors import ConfigError
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.rl.bandits import UCB, EpsilonGreedy, make_testbed, run_testbed


class Exploration(Experiment):
    name = "exploration"
    topic = "Reinforcement learning"
    claim = (
        "On the 10-armed testbed a purely greedy agent plateaus lowest: a little exploration "
        "(epsilon = 0.01 or 0.1) earns more reward and finds the best arm more often."
    )
    criterion = (
        "Averaged over all runs and the last `window` steps, epsilon = 0 has both the lowest mean reward and "
        "the lowest fraction of optimal actions among the epsilons tried (all agents on the same bandit problems)."
    )

    @dataclass
    class Config:
        runs: int = field(default=2000, metadata={"help": "independent bandit problems, run side by side"})
        steps: int = field(default=1000, metadata={"help": "steps per run"})
        arms: int = field(default=10, metadata={"help": "arms k of each bandit"})
        epsilons: tuple = field(default=(0.0, 0.01, 0.1), metadata={"help": "exploration rates compared"})
        window: int = field(default=100, metadata={"help": "last steps averaged for the plateau"})
        extras: bool = field(
            default=True, metadata={"help": "also run optimistic initial values (Q1=5) and UCB (c=2), figure 2.3/2.4"}
        )

    quick = {"runs": 300}
    quick_criterion = (
        "the full rule on 300 bandit problems: averaged over the 300 runs and the last `window` (100) of 1000 "
        "steps, epsilon = 0 has both the lowest mean reward and the lowest fraction of optimal actions"
    )

    def run(self, config, ctx):
        # the claim compares the greedy agent with explorers: without both the verdict would mean nothing
        if 0 not in config.epsilons or not any(eps > 0 for eps in config.epsilons):
            raise ConfigError(f"exploration: epsilons must hold 0 (the greedy baseline) and at least one epsilon > 0, "
                              f"got {tuple(config.epsilons)}")
        testbed_rng, stream_rng = ctx.spawn(2)
        q_star = make_testbed(config.runs, config.arms, testbed_rng)
        agents = {f"epsilon={eps:g}": EpsilonGreedy(epsilon=float(eps)) for eps in config.epsilons}
        if config.extras:
            agents["optimistic Q1=5, epsilon=0, alpha=0.1"] = EpsilonGreedy(epsilon=0.0, initial=5.0, step_size=0.1)
            agents["epsilon=0.1, alpha=0.1"] = EpsilonGreedy(epsilon=0.1, step_size=0.1)
            agents["UCB c=2"] = UCB(c=2.0)
        # an int seed: run_testbed would consume a Generator, and every agent must see the same stream
        stream_seed = int(stream_rng.integers(2**63))
        curves = {}
        for label, agent in ctx.progress(agents.items(), desc="agents"):
            # every agent gets the same reward stream seed: common random numbers sharpen the comparison
            curves[label] = run_testbed(agent, q_star, config.steps, stream_seed)

        w = slice(-config.window, None)
        table = [
            {"agent": label, "mean reward (last)": float(c.reward[w].mean()),
             "% optimal (last)": 100 * float(c.optimal[w].mean()), "mean reward (all)": float(c.reward.mean())}
            for label, c in curves.items()
        ]
        eps_labels = [f"epsilon={eps:g}" for eps in config.epsilons]
        greedy = "epsilon=0"
        others = [label for label in eps_labels if label != greedy]
        plateau = {label: float(curves[label].reward[w].mean()) for label in eps_labels}
        optimal = {label: float(curves[label].optimal[w].mean()) for label in eps_labels}
        ok = all(
            plateau[greedy] < plateau[o] and optimal[greedy] < optimal[o] for o in others
        )
        self._plot(ctx, curves, eps_labels, config)
        metrics = {"plateau_reward": plateau, "plateau_optimal": optimal}
        return Outcome(verdict_from(ok), metrics, table)

    @staticmethod
    def _plot(ctx, curves, eps_labels, config):
        steps = np.arange(1, config.steps + 1)
        fig, (ax_r, ax_o) = ctx.figure(2, 1, size=(7, 6), sharex=True,
                                       title=f"10-armed testbed, {config.runs} runs (Sutton & Barto fig. 2.2)")
        for label in eps_labels:
            ax_r.plot(steps, curves[label].reward, lw=0.8, label=label)
            ax_o.plot(steps, 100 * curves[label].optimal, lw=0.8, label=label)
        plotting.style(ax_r, title="average reward", xlabel="step", ylabel="mean reward per step")
        plotting.style(ax_o, title="optimal action", xlabel="step", ylabel="% optimal action", legend=False)
        ctx.savefig(fig, "epsilon_greedy")
        extra = [label for label in curves if label not in eps_labels]
        if extra:
            fig, ax = ctx.figure(size=(7, 3.5))
            for label in ["epsilon=0.1", *extra]:
                if label in curves:
                    ax.plot(steps, 100 * curves[label].optimal, lw=0.8, label=label)
            plotting.style(ax, title=f"optimistic initial values and UCB (figs. 2.3, 2.4), {config.runs} runs",
                           xlabel="step", ylabel="% optimal action")
            ctx.savefig(fig, "optimistic_ucb")
