"""Cliff walking: Q-learning learns the cliff-edge path, SARSA the safe one (Sutton & Barto, example 6.6)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.rl import envs
from glassnet.rl.td import greedy_rollout, train_tabular

_ROWS, _COLS = 4, 12
# the row just above the cliff, between start and goal: the "optimal" path runs along it
_EDGE = set(range(2 * _COLS + 1, 3 * _COLS - 1))
_OPTIMAL_RETURN = -13.0
_GOAL = _ROWS * _COLS - 1


class CliffWalking(Experiment):
    name = "cliff-walking"
    topic = "Reinforcement learning"
    claim = (
        "With epsilon-greedy behaviour, Q-learning learns the optimal path along the cliff edge (return -13) "
        "while SARSA learns a longer, safer path, and SARSA earns more reward online while learning."
    )
    criterion = (
        "Over `runs` independent runs: every Q-learning greedy path returns -13; SARSA's greedy paths are longer "
        "(mean greedy return < -13) and use fewer cliff-edge cells on average than Q-learning's; SARSA's mean "
        "return per episode during learning is higher than Q-learning's."
    )

    @dataclass
    class Config:
        runs: int = field(default=50, metadata={"help": "independent runs averaged"})
        episodes: int = field(default=500, metadata={"help": "episodes per run"})
        alpha: float = field(default=0.5, metadata={"help": "step size"})
        epsilon: float = field(default=0.1, metadata={"help": "exploration rate (constant, as in the book)"})
        gamma: float = field(default=1.0, metadata={"help": "discount (undiscounted episodic task)"})
        smooth: int = field(default=10, metadata={"help": "moving-average window of the plotted curves"})

    quick = {"runs": 3, "episodes": 300}

    def run(self, config, ctx):
        algorithms = ("q_learning", "sarsa")
        online = {a: np.zeros((config.runs, config.episodes)) for a in algorithms}
        greedy_return = {a: np.zeros(config.runs) for a in algorithms}
        edge_cells = {a: np.zeros(config.runs) for a in algorithms}
        reached = {a: np.zeros(config.runs, dtype=bool) for a in algorithms}
        paths = {}
        for run in ctx.progress(range(config.runs), desc="runs"):
            for algorithm in algorithms:
                env = envs.make(envs.CLIFF_WALKING, seed=envs.seed_for(ctx.rng))
                Q, stats = train_tabular(env, algorithm, config.episodes, config.alpha, config.gamma,
                                         config.epsilon, ctx.rng)
                online[algorithm][run] = [s.ret for s in stats]
                greedy_return[algorithm][run], states = greedy_rollout(env, Q, max_steps=200)
                edge_cells[algorithm][run] = sum(s in _EDGE for s in states)
                # a greedy policy learnt under constant epsilon can loop in states it rarely leaves greedily
                reached[algorithm][run] = states[-1] == _GOAL
                paths.setdefault(algorithm, states)

        table = [
            {"algorithm": a, "greedy return (mean)": float(greedy_return[a].mean()),
             "greedy return (median)": float(np.median(greedy_return[a])),
             "runs with -13": int((greedy_return[a] == _OPTIMAL_RETURN).sum()),
             "greedy reaches goal": int(reached[a].sum()),
             "edge cells (mean)": float(edge_cells[a].mean()),
             "online return (mean)": float(online[a].mean())}
            for a in algorithms
        ]
        q, s = "q_learning", "sarsa"
        ok = (
            bool((greedy_return[q] == _OPTIMAL_RETURN).all())
            and greedy_return[s].mean() < _OPTIMAL_RETURN
            and edge_cells[s].mean() < edge_cells[q].mean()
            and online[s].mean() > online[q].mean()
        )
        metrics = {
            "greedy_return": {a: float(greedy_return[a].mean()) for a in algorithms},
            "edge_cells": {a: float(edge_cells[a].mean()) for a in algorithms},
            "greedy_reaches_goal": {a: int(reached[a].sum()) for a in algorithms},
            "online_return": {a: float(online[a].mean()) for a in algorithms},
        }
        self._plot(ctx, online, paths, config)
        return Outcome(verdict_from(ok), metrics, table)

    @staticmethod
    def _plot(ctx, online, paths, config):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 6.5))
        ax, ax_path = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
        kernel = np.ones(config.smooth) / config.smooth
        for algorithm, returns in online.items():
            curve = np.convolve(returns.mean(0), kernel, mode="valid")
            ax.plot(np.arange(curve.size) + config.smooth, curve, label=algorithm.replace("_", "-"))
        ax.set_ylim(-100, 0)
        ax.set_xlabel("episode")
        ax.set_ylabel("sum of rewards during episode")
        ax.set_title(f"Cliff walking, epsilon={config.epsilon:g}, alpha={config.alpha:g}, mean of {config.runs} runs")
        ax.legend()
        grid = np.zeros((_ROWS, _COLS))
        grid[3, 1:-1] = -1  # the cliff
        ax_path.imshow(grid, cmap="Greys_r", vmin=-1, vmax=0)
        for (algorithm, states), offset in zip(paths.items(), (-0.1, 0.1)):
            r, c = np.divmod(np.asarray(states), _COLS)
            ax_path.plot(c, r + offset, marker=".", label=f"{algorithm.replace('_', '-')} greedy path (run 0)")
        ax_path.set_xticks([])
        ax_path.set_yticks([])
        ax_path.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2)
        ctx.savefig(fig, "cliff_walking")
