"""DQN (a Q-network with replay and a target network) solves CartPole-v1."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.rl.cartpole import (
    CRITERION_CARTPOLE,
    confirmation_seeds,
    plot_learning_curve,
    random_policy_return,
    solve_metrics,
)
from glassnet.rl import envs
from glassnet.rl.dqn import DQN, train_dqn
from glassnet.rl.rollout import evaluate
from glassnet.rl.schedules import LinearSchedule


class DeepQNetwork(Experiment):
    name = "dqn"
    topic = "Reinforcement learning"
    claim = (
        "Approximating Q with a network, trained from a replay buffer against a periodically copied target "
        "network (DQN), solves CartPole-v1: a mean return >= 475 over 100 consecutive episodes, confirmed on 100 "
        "fresh ones."
    )
    criterion = CRITERION_CARTPOLE + " DQN is evaluated greedily (epsilon = 0), every `eval_every` episodes."

    @dataclass
    class Config:
        steps: int = field(default=100_000, metadata={"help": "environment-step budget"})
        hidden: tuple = field(default=(128, 128), metadata={"help": "hidden widths of the Q-network"})
        lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
        gamma: float = field(default=0.99, metadata={"help": "discount"})
        batch_size: int = field(default=64, metadata={"help": "minibatch of replayed transitions"})
        buffer_size: int = field(default=50_000, metadata={"help": "replay capacity"})
        target_update: int = field(default=500, metadata={"help": "updates between target-network copies"})
        learning_starts: int = field(default=1000, metadata={"help": "steps of collection before learning"})
        train_every: int = field(default=1, metadata={"help": "environment steps per update"})
        epsilon_start: float = field(default=1.0, metadata={"help": "initial exploration rate"})
        epsilon_end: float = field(default=0.05, metadata={"help": "final exploration rate"})
        epsilon_steps: int = field(default=10_000, metadata={"help": "steps of the linear epsilon decay"})
        loss: str = field(default="huber", metadata={"help": "'huber' (error clipping) or 'mse'"})
        eval_episodes: int = field(default=100, metadata={"help": "consecutive episodes of an evaluation"})
        eval_threshold: float = field(
            default=200.0, metadata={"help": "evaluate when the last 20 training returns average this much"}
        )
        eval_every: int = field(default=10, metadata={"help": "episodes between evaluations (above the threshold)"})
        solve_return: float = field(default=475.0, metadata={"help": "evaluation mean that counts as solved"})
        improvement_factor: float = field(
            default=0.0, metadata={"help": "> 0: only check final eval >= factor * random policy (quick run)"}
        )

    quick = {"steps": 2500, "hidden": (64, 64), "learning_starts": 300, "epsilon_steps": 1200, "target_update": 100,
             "eval_episodes": 20, "improvement_factor": 3.0}
    quick_criterion = (
        "after 2500 environment steps, the final greedy (epsilon = 0) evaluation's mean return over 20 episodes "
        "(fixed evaluation seeds) >= 3 x the uniformly random policy's mean over the same 20 episodes"
    )

    def run(self, config, ctx):
        from threadpoolctl import threadpool_limits

        # one training of one agent: a single piece of work, so no resumable units.
        # independent streams: env seed, evaluation seed, agent (weights, replay, exploration), confirmations,
        # random policy
        env_rng, eval_rng, agent_rng, confirm_rng, random_rng = ctx.spawn(5)
        make = lambda s: envs.make(envs.CART_POLE, seed=s)  # noqa: E731
        env = make(envs.seed_for(env_rng))
        eval_seed = envs.seed_for(eval_rng)
        fresh = confirmation_seeds(confirm_rng, eval_seed, config.eval_episodes)
        agent = DQN(4, 2, hidden=config.hidden, lr=config.lr, gamma=config.gamma, batch_size=config.batch_size,
                    buffer_size=config.buffer_size, target_update=config.target_update, loss=config.loss, rng=agent_rng)
        greedy = lambda obs: agent.act(obs, 0.0)  # noqa: E731
        returns, evaluations, confirmations, solved = [], [], [], []

        def on_episode(step: int, episode_return: float) -> bool:
            returns.append(episode_return)
            if np.mean(returns[-20:]) < config.eval_threshold or len(returns) % config.eval_every:
                return False
            evaluations.append((len(returns), float(evaluate(make, greedy, config.eval_episodes, eval_seed).mean())))
            ctx.log(f"step {step}, episode {len(returns)}: evaluation mean {evaluations[-1][1]:.1f}")
            if evaluations[-1][1] < config.solve_return:
                return False
            confirmed = float(evaluate(make, greedy, config.eval_episodes, next(fresh)).mean())
            confirmations.append((len(returns), evaluations[-1][1], confirmed))
            ctx.log(f"step {step}, episode {len(returns)}: confirmation mean {confirmed:.1f}")
            if confirmed >= config.solve_return:
                solved.append((step, len(returns)))
                return True
            return False

        # tiny matrices: one BLAS thread is faster than several fighting over the cores
        with threadpool_limits(1, user_api="blas"):
            random_return = random_policy_return(2, config.eval_episodes, eval_seed, random_rng)
            epsilon = LinearSchedule(config.epsilon_start, config.epsilon_end, config.epsilon_steps)
            train_dqn(agent, env, config.steps, epsilon, config.learning_starts, config.train_every, on_episode,
                      progress=lambda r: ctx.progress(r, desc="steps"))
            if not evaluations or evaluations[-1][0] != len(returns):
                evaluations.append((len(returns), float(evaluate(make, greedy, config.eval_episodes,
                                                                 eval_seed).mean())))
        final = evaluations[-1][1]
        ok = final >= config.improvement_factor * random_return if config.improvement_factor > 0 else bool(solved)
        solved_step, solved_episode = solved[0] if solved else (None, None)
        solve, columns = solve_metrics(confirmations, config.eval_episodes)
        metrics = {"solved_at_step": solved_step, "solved_at_episode": solved_episode, **solve,
                   "final_eval_mean": final, "random_policy_mean": random_return, "training_episodes": len(returns),
                   "updates": agent.updates, "evaluations": evaluations}
        table = [{"training episodes": len(returns), "solved at step": solved_step or "-", **columns,
                  f"final eval mean ({config.eval_episodes} ep.)": final, "random policy mean": random_return,
                  "ratio to random": final / random_return}]
        plot_learning_curve(ctx, returns, evaluations, config.solve_return, random_return,
                            "DQN on CartPole-v1 (greedy evaluations)", "learning_curve")
        return Outcome(verdict_from(ok), metrics, table)
