"""Q-learning on FrozenLake 4x4 converges to the policy value iteration computes from the model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.rl.frozen_lake import plot_value_map
from glassnet.rl import envs
from glassnet.rl.dynamic_programming import TabularMDP, policy_evaluation, value_iteration
from glassnet.rl.schedules import LinearSchedule
from glassnet.rl.td import q_learning_episode


class QLearning(Experiment):
    name = "q-learning"
    topic = "Reinforcement learning"
    claim = (
        "Q-learning, learning only from sampled transitions, converges to the optimal policy that value "
        "iteration computes from the model (FrozenLake 4x4)."
    )
    criterion = (
        "After training, the greedy action of Q equals value iteration's on every non-terminal state whose "
        "optimal action is unique (Q* gap > `tie_tol`), and |max_a Q(s, a) - V*(s)| <= `value_tol` on every "
        "non-terminal state (same gamma)."
    )

    @dataclass
    class Config:
        episodes: int = field(default=20_000, metadata={"help": "training episodes"})
        gamma: float = field(default=0.95, metadata={"help": "discount, shared with value iteration"})
        alpha_start: float = field(default=0.1, metadata={"help": "step size at the first episode"})
        alpha_end: float = field(default=0.001, metadata={"help": "step size at the last episode (linear decay)"})
        epsilon: float = field(default=0.1, metadata={"help": "exploration rate of the behaviour policy"})
        initial_q: float = field(
            default=1.0, metadata={"help": "initial Q (1 >= every return: optimism drives early exploration)"}
        )
        tie_tol: float = field(default=1e-6, metadata={"help": "Q* gap below which two actions count as tied"})
        value_tol: float = field(default=0.1, metadata={"help": "allowed |max_a Q - V*| per state"})
        eval_every: int = field(default=100, metadata={"help": "episodes between points of the curve"})

    quick = {"episodes": 2000}
    quick_criterion = (
        "the full rule after 2000 training episodes (step size decayed 0.1 -> 0.001 over them): Q's greedy action "
        "equals value iteration's on every non-terminal state with a unique optimum (Q* gap > 1e-6), and "
        "|max_a Q(s, a) - V*(s)| <= 0.1 on every non-terminal state"
    )

    def run(self, config, ctx):
        # one training of one agent: a single piece of work, so no resumable units
        env_rng, train_rng = ctx.spawn(2)  # the env's own seed; exploration and slipping of the agent
        env = envs.make(envs.FROZEN_LAKE, seed=envs.seed_for(env_rng))
        mdp = TabularMDP.from_gymnasium(env)
        vi = value_iteration(mdp, config.gamma, theta=1e-12)
        live = mdp.C.sum((1, 2)) > 0  # non-terminal states: some action continues
        top2 = np.sort(vi.Q, axis=1)[:, -2:]
        unique = live & (top2[:, 1] - top2[:, 0] > config.tie_tol)

        Q = np.full((mdp.n_states, mdp.n_actions), config.initial_q)
        alpha = LinearSchedule(config.alpha_start, config.alpha_end, config.episodes)
        curve = []
        for i in ctx.progress(range(config.episodes), desc="episodes"):
            q_learning_episode(env, Q, alpha(i), config.gamma, config.epsilon, train_rng)
            if (i + 1) % config.eval_every == 0 or i + 1 == config.episodes:
                agree = float((Q.argmax(1) == vi.policy)[unique].mean())
                curve.append((i + 1, float(np.abs(Q.max(1) - vi.V)[live].max()), agree))

        policy = Q.argmax(1)
        agree_all = bool((policy == vi.policy)[unique].all())
        value_err = float(np.abs(Q.max(1) - vi.V)[live].max())
        # the exact value of the learned greedy policy, from the model
        v_greedy = policy_evaluation(mdp, policy, config.gamma, theta=1e-12).V
        ok = agree_all and value_err <= config.value_tol
        metrics = {
            "unique_states": int(unique.sum()), "agreeing_states": int((policy == vi.policy)[unique].sum()),
            "disagreeing": [int(s) for s in np.flatnonzero((policy != vi.policy) & unique)],
            "max_value_error": value_err, "V*(start)": float(vi.V[0]), "V_greedy(start)": float(v_greedy[0]),
        }
        table = [{"states (unique optimum)": int(unique.sum()), "greedy agrees": metrics["agreeing_states"],
                  "max |V_Q - V*|": value_err, "V*(start)": float(vi.V[0]),
                  "V of learned policy (start)": float(v_greedy[0])}]
        self._plot(ctx, env, vi, Q, curve, config)
        return Outcome(verdict_from(ok), metrics, table)

    @staticmethod
    def _plot(ctx, env, vi, Q, curve, config):
        desc = env.unwrapped.desc
        live = vi.Q.max(1) > 0  # (only for display) terminal rows keep their untouched initial Q
        fig, (ax_vi, ax_q, ax_c, ax_agree) = ctx.figure(1, 4, size=(17, 3.8))
        plot_value_map(ax_vi, desc, vi.V, vi.policy, f"value iteration: V*, gamma={config.gamma:g}")
        plot_value_map(ax_q, desc, np.where(live, Q.max(1), 0.0), Q.argmax(1),
                       f"Q-learning: max_a Q, {config.episodes} episodes")
        episodes, err, agree = np.asarray(curve).T
        ax_c.plot(episodes, err, color="C0", label="max over non-terminal s")
        ax_c.axhline(config.value_tol, ls="--", color="k", lw=0.8, label=f"value_tol ({config.value_tol:g})")
        plotting.style(ax_c, title="value error of Q", xlabel="training episode",
                       ylabel="max_s |max_a Q(s, a) - V*(s)|", log="auto")
        ax_agree.plot(episodes, 100 * agree, color="C1")
        ax_agree.set_ylim(0, 105)
        plotting.style(ax_agree, title="greedy policy vs value iteration", xlabel="training episode",
                       ylabel="% unique-optimum states agreeing")
        ctx.savefig(fig, "q_learning_vs_value_iteration")
