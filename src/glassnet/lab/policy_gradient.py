"""REINFORCE with a learned baseline solves CartPole-v1."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.rl import envs
from glassnet.rl.reinforce import Reinforce
from glassnet.rl.rollout import evaluate, run_episodes

CRITERION_CARTPOLE = (
    "Supported when, within the training budget, the current policy evaluated over `eval_episodes` (100) "
    "consecutive episodes (fresh seeded CartPole-v1 envs, 500-step limit, the same evaluation seeds every time) "
    "averages >= `solve_return` (475, gymnasium's 'solved' threshold) AND the same policy, re-evaluated at once on "
    "`eval_episodes` fresh episodes whose seeds are disjoint from the evaluation seeds (a confirmation; its own seed "
    "stream derived from the run seed, new seeds for every confirmation), again averages >= `solve_return`: only the "
    "confirmation decides, since the first of many evaluations to pass flatters the policy. A failed confirmation "
    "lets training go on. Evaluations run whenever the last 20 training episodes average >= `eval_threshold`, and "
    "once at the end. With `improvement_factor` > 0 (the quick run) the claim checked is weaker: the final "
    "evaluation's mean return is at least `improvement_factor` times the uniformly random policy's."
)

CONFIRMATION_STREAM = 1  # spawn key of the confirmation seeds: apart from the run's own generator


def confirmation_seeds(run_seed: int, eval_seed: int, n_episodes: int):
    """Base seeds of confirmation evaluations, each a block of ``n_episodes`` unused seeds.

    Drawn from a generator of their own (``default_rng([run_seed, CONFIRMATION_STREAM])``) so that
    drawing them leaves the run's generator where it was; each block ``[seed, seed + n_episodes)`` is disjoint
    from the evaluation's ``[eval_seed, eval_seed + n_episodes)`` and from every earlier block.
    """
    rng = np.random.default_rng([run_seed, CONFIRMATION_STREAM])
    used = [eval_seed]
    while True:
        seed = envs.seed_for(rng)
        if all(abs(seed - u) >= n_episodes for u in used):
            used.append(seed)
            yield seed


def solve_metrics(confirmations, n_episodes):
    """Metrics and table columns of the confirmations, each (episode, evaluation mean, confirmation mean)."""
    last = confirmations[-1] if confirmations else (None, None, None)
    metrics = {"confirmations": [list(c) for c in confirmations], "solving_eval_mean": last[1],
               "confirmation_mean": last[2]}
    columns = {f"solving eval mean ({n_episodes} ep.)": "-" if last[1] is None else last[1],
               f"confirmation mean ({n_episodes} fresh ep.)": "-" if last[2] is None else last[2],
               "confirmations tried": len(confirmations)}
    return metrics, columns


def random_policy_return(n_actions: int, n_episodes: int, seed: int) -> float:
    """Mean CartPole-v1 return of uniformly random actions over ``n_episodes`` seeded episodes."""
    rng = np.random.default_rng(seed)
    returns = evaluate(lambda s: envs.make(envs.CART_POLE, seed=s),
                       lambda obs: rng.integers(n_actions, size=obs.shape[0]), n_episodes, seed)
    return float(returns.mean())


def plot_learning_curve(ctx, returns, evaluations, solve_return, random_return, title, name):
    """Training returns per episode (and their 100-episode mean) with the evaluations marked."""
    from matplotlib.figure import Figure

    returns = np.asarray(returns)
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(np.arange(1, returns.size + 1), returns, lw=0.5, alpha=0.5, label="training episode return")
    if returns.size >= 100:
        moving = np.convolve(returns, np.ones(100) / 100, mode="valid")
        ax.plot(np.arange(100, returns.size + 1), moving, label="mean of last 100 training episodes")
    if evaluations:
        at, mean = np.asarray(evaluations).T
        ax.plot(at, mean, "o", color="C3", label="evaluation: mean of 100 episodes")
    ax.axhline(solve_return, ls="--", color="k", lw=0.8, label=f"solved ({solve_return:g})")
    ax.axhline(random_return, ls=":", color="grey", lw=0.8, label="random policy")
    ax.set_xlabel("training episode")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ctx.savefig(fig, name)


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

    quick = {"episodes": 120, "eval_episodes": 20, "improvement_factor": 3.0}

    def run(self, config, ctx):
        from threadpoolctl import threadpool_limits

        rng = ctx.rng
        make = lambda s: envs.make(envs.CART_POLE, seed=s)  # noqa: E731
        train_envs = [make(envs.seed_for(rng)) for _ in range(config.envs_per_batch)]
        eval_seed = envs.seed_for(rng)
        fresh = confirmation_seeds(ctx.seed, eval_seed, config.eval_episodes)
        agent = Reinforce(4, 2, hidden=(config.hidden,), lr=config.lr, baseline_lr=config.baseline_lr,
                          gamma=config.gamma, normalize=config.normalize, rng=rng)
        # tiny matrices: one BLAS thread is faster than several fighting over the cores
        with threadpool_limits(1, user_api="blas"):
            random_return = random_policy_return(2, config.eval_episodes, eval_seed)
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
