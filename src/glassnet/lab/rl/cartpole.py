"""What the CartPole experiments (policy-gradient, dqn) share: the solving rule, its confirmation seeds,
the random-policy baseline and the learning-curve plot."""

from __future__ import annotations

import numpy as np

from glassnet.lab import plotting
from glassnet.rl import envs
from glassnet.rl.rollout import evaluate

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

def confirmation_seeds(rng: np.random.Generator, eval_seed: int, n_episodes: int):
    """Base seeds of confirmation evaluations, each a block of ``n_episodes`` unused seeds.

    Drawn from ``rng``, a generator of their own (one of the run's ``ctx.spawn`` children), so that drawing
    them moves no other stream; each block ``[seed, seed + n_episodes)`` is disjoint from the evaluation's
    ``[eval_seed, eval_seed + n_episodes)`` and from every earlier block.
    """
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


def random_policy_return(n_actions: int, n_episodes: int, seed: int, rng: np.random.Generator) -> float:
    """Mean CartPole-v1 return of uniformly random actions (drawn from ``rng``) over the ``n_episodes``
    episodes whose env seeds start at ``seed`` (the evaluation's episodes)."""
    returns = evaluate(lambda s: envs.make(envs.CART_POLE, seed=s),
                       lambda obs: rng.integers(n_actions, size=obs.shape[0]), n_episodes, seed)
    return float(returns.mean())


def plot_learning_curve(ctx, returns, evaluations, solve_return, random_return, title, name):
    """Training returns per episode (and their 100-episode mean) with the evaluations marked."""
    returns = np.asarray(returns)
    fig, ax = ctx.figure(size=(7, 4))
    ax.plot(np.arange(1, returns.size + 1), returns, lw=0.5, alpha=0.5, label="training episode return")
    if returns.size >= 100:
        moving = np.convolve(returns, np.ones(100) / 100, mode="valid")
        ax.plot(np.arange(100, returns.size + 1), moving, label="mean of last 100 training episodes")
    if evaluations:
        at, mean = np.asarray(evaluations, dtype=np.float64).T
        ax.plot(at, mean, "o", color="C3", label="evaluation: mean return over the evaluation episodes")
    ax.axhline(solve_return, ls="--", color="k", lw=0.8, label=f"solved ({solve_return:g})")
    ax.axhline(random_return, ls=":", color="grey", lw=0.8, label=f"random policy ({random_return:.1f})")
    # returns of CartPole lie in [1, 500]: a linear axis reads best (no log scale)
    plotting.style(ax, title=title, xlabel="training episode", ylabel="return G (steps balanced)")
    ctx.savefig(fig, name)
