"""REINFORCE with a learned baseline solves CartPole-v1."""

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
from glassnet.rl.reinforce import Reinforce
from glassnet.rl.rollout import evaluate, run_episodes


class PolicyGradient(Experiment):
    name = "policy-gradient"
    topic = "Reinforcement learning"
    claim = (
        "REINFORCE (the policy gradient theorem, Monte Carlo returns) with a learned value baseline solves "
        "CartPole-v1: a mean return >= 475 over 100 consecutive episodes, confirmed on 100 fresh ones."
    )
    criterion = CRITERION_CARTPOLE

    @dataclass
    class Config:
        episodes: int = field(default=3000, metadata={"help": "training episode budget"})
        envs_per_batch: int = field(default=4, metadata={"help": "episodes per update, played side by side"})
        hidden: int = field(default=64, metadata={"help": "hidden units of the policy and baseline networks"})
        lr: float = field(default=5e-3, metadata={"help": "Adam learning rate of the policy"})
        baseline_lr: float = field(default=1.5e-2, metadata={"help": "Adam learning rate of the baseline"})
        gamma: float = field(default=0.99, metadata={"help": "discount"})
        normalize: bool = field(default=True, metadata={"help": "normalise advantages per batch"})
        eval_episodes: int = field(default=100, metadata={"help": "consecutive episodes of an evaluation"})
        eval_threshold: float = field(
            default=450.0, metadata={"help": "evaluate when the last 20 training returns average this much"}
        )
        solve_return: float = field(default=475.0, metadata={"help": "evaluation mean that counts as solved"})
        improvement_factor: float = field(
            default=0.0, metadata={"help": "> 0: only check final eval >= factor * random policy (quick run)"}
        )

    quick = {"episodes": 250, "eval_episodes": 20, "improvement_factor": 3.0}
    quick_criterion = (
        "after 250 training episodes, the final evaluation's mean return over 20 episodes (fixed evaluation "
        "seeds) >= 3 x the uniformly random policy's mean over the same 20 episodes"
    )

    def run(self, config, ctx):
        from threadpoolctl import threadpool_limits

        # one training of one agent: a single piece of work, so no resumable units.
        # independent streams: env seeds, evaluation seed, agent (weights, actions), confirmations, random policy
        env_rng, eval_rng, agent_rng, confirm_rng, random_rng = ctx.spawn(5)
        make = lambda s: envs.make(envs.CART_POLE, seed=s)  # noqa: E731
        train_envs = [make(envs.seed_for(env_rng)) for _ in range(config.envs_per_batch)]
        eval_seed = envs.seed_for(eval_rng)
        fresh = confirmation_seeds(confirm_rng, eval_seed, config.eval_episodes)
        agent = Reinforce(4, 2, hidden=(config.hidden,), lr=config.lr, baseline_lr=config.baseline_lr,
                          gamma=config.gamma, normalize=config.normalize, rng=agent_rng)
        # tiny matrices: one BLAS thread is faster than several fighting over the cores
        with threadpool_limits(1, user_api="blas"):
            random_return = random_policy_return(2, config.eval_episodes, eval_seed, random_rng)
            returns, evaluations, confirmations, solved_at = [], [], [], None
            bar = ctx.progress(total=config.episodes, desc="episodes")
            while len(returns) < config.episodes and solved_at is None:
                batch = run_episodes(train_envs, agent.act)
                agent.update(batch)
                returns += [t.ret for t in batch]
                bar.update(len(batch))
                if np.mean(returns[-20:]) >= config.eval_threshold:
                    evaluations.append((len(returns), float(evaluate(make, agent.act, config.eval_episodes,
                                                                     eval_seed).mean())))
                    ctx.log(f"episode {len(returns)}: evaluation mean {evaluations[-1][1]:.1f}")
                    if evaluations[-1][1] >= config.solve_return:
                        confirmed = float(evaluate(make, agent.act, config.eval_episodes, next(fresh)).mean())
                        confirmations.append((len(returns), evaluations[-1][1], confirmed))
                        ctx.log(f"episode {len(returns)}: confirmation mean {confirmed:.1f}")
                        if confirmed >= config.solve_return:
                            solved_at = len(returns)
            bar.close()
            if not evaluations or evaluations[-1][0] != len(returns):
                evaluations.append((len(returns), float(evaluate(make, agent.act, config.eval_episodes,
                                                                 eval_seed).mean())))
        final = evaluations[-1][1]
        if config.improvement_factor > 0:
            ok = final >= config.improvement_factor * random_return
        else:
            ok = solved_at is not None
        solve, columns = solve_metrics(confirmations, config.eval_episodes)
        metrics = {"solved_at_episode": solved_at, **solve, "final_eval_mean": final,
                   "random_policy_mean": random_return, "training_episodes": len(returns), "evaluations": evaluations}
        table = [{"training episodes": len(returns), "solved at": solved_at if solved_at else "-", **columns,
                  f"final eval mean ({config.eval_episodes} ep.)": final, "random policy mean": random_return,
                  "ratio to random": final / random_return}]
        plot_learning_curve(ctx, returns, evaluations, config.solve_return, random_return,
                            "REINFORCE with baseline on CartPole-v1", "learning_curve")
        return Outcome(verdict_from(ok), metrics, table)
