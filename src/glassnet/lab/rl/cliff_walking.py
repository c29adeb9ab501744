"""Cliff walking: Q-learning learns the cliff-edge path, SARSA the safe one (Sutton & Barto, example 6.6)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
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
    quick_criterion = (
        "the full rule on 3 runs of 300 episodes: every Q-learning greedy path returns -13; SARSA's mean greedy "
        "return < -13 with fewer cliff-edge cells on average than Q-learning's; SARSA's mean return per episode "
        "during learning is higher than Q-learning's"
    )

    algorithms = ("q_learning", "sarsa")

    def run(self, config, ctx):
        algorithms = self.algorithms
        # one resumable unit per run (both algorithms), each with its own generator
        results = [ctx.unit(f"run={run}", lambda run=run, rng=rng: self._one_run(config, rng))
                   for run, rng in zip(ctx.progress(range(config.runs), desc="runs"), ctx.spawn(config.runs))]
        online = {a: np.array([r[a]["online"] for r in results]) for a in algorithms}
        greedy_return = {a: np.array([r[a]["greedy_return"] for r in results]) for a in algorithms}
        edge_cells = {a: np.array([r[a]["edge_cells"] for r in results]) for a in algorithms}
        reached = {a: np.array([r[a]["reached"] for r in results], dtype=bool) for a in algorithms}
        paths = {a: results[0][a]["states"] for a in algorithms}
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

    @classmethod
    def _one_run(cls, config, rng):
        """Q-learning and SARSA trained once each from ``rng``: a JSON-able dict per algorithm."""
        out = {}
        for algorithm in cls.algorithms:
            env = envs.make(envs.CLIFF_WALKING, seed=envs.seed_for(rng))
            Q, stats = train_tabular(env, algorithm, config.episodes, config.alpha, config.gamma, config.epsilon, rng)
            ret, states = greedy_rollout(env, Q, max_steps=200)
            out[algorithm] = {
                "online": [float(s.ret) for s in stats], "greedy_return": float(ret),
                "edge_cells": int(sum(s in _EDGE for s in states)),
                # a greedy policy learnt under constant epsilon can loop in states it rarely leaves greedily
                "reached": bool(states[-1] == _GOAL), "states": [int(s) for s in states],
            }
        return out

    @staticmethod
    def _plot(ctx, online, paths, config):
        fig, (ax, ax_path) = ctx.figure(2, 1, size=(7, 6.5), gridspec_kw={"height_ratios": [3, 2]})
        kernel = np.ones(config.smooth) / config.smooth
        for algorithm, returns in online.items():
            curve = np.convolve(returns.mean(0), kernel, mode="valid")
            ax.plot(np.arange(curve.size) + config.smooth, curve, label=algorithm.replace("_", "-"))
        ax.set_ylim(-100, 0)
        plotting.style(ax, title=f"Cliff walking, epsilon={config.epsilon:g}, alpha={config.alpha:g}\n"
                                 f"mean of {config.runs} runs, {config.smooth}-episode moving average",
                       xlabel="episode", ylabel="return G during episode (sum of rewards)")
        grid = np.zeros((_ROWS, _COLS))
        grid[3, 1:-1] = -1  # the cliff
        ax_path.imshow(grid, cmap="Greys_r", vmin=-1, vmax=0)
        for (algorithm, states), offset in zip(paths.items(), (-0.1, 0.1)):
            r, c = np.divmod(np.asarray(states), _COLS)
            ax_path.plot(c, r + offset, marker=".", label=f"{algorithm.replace('_', '-')} greedy path (run 0)")
        ax_path.set_xticks([])
        ax_path.set_yticks([])
        plotting.style(ax_path, title="greedy paths after learning (cliff in black, start S bottom left)",
                       xlabel="column", ylabel="row", legend=False)
        ax_path.grid(False)
        ax_path.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
        ctx.savefig(fig, "cliff_walking")
