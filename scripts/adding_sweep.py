"""The adding-problem sweep behind docs/recurrent.md's "why the LSTM missed T = 200" table (issue 13).

Each candidate cause of the recorded ``long-dependency`` failure is varied alone from the experiment's
default protocol (H = 32, Adam lr 0.01, clipping at 1.0, batch 64, forget-gate bias 1, early stop once the
validation MSE is below 1% of Var(target)), on several seeds, and every run is one JSON line::

    python scripts/adding_sweep.py --out runs/adding_sweep.jsonl --group budget --group stop --seeds 0 1 2
    python scripts/adding_sweep.py --out runs/adding_sweep.jsonl --table      # the markdown table

A line already in ``--out`` (same group, setting, T, cell and seed) is not run again, so an interrupted
sweep continues where it stopped. Seeds are ``SeedSequence(seed)`` streams spawned as the experiment
spawns them for one T (data, validation, test, init); the lab run draws its streams for its fourth T,
so its seed 0 is not this seed 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from glassnet.data.datasets.generated import adding_problem
from glassnet.lab.recurrent.adding import ADDING_TARGET_VAR, AddingModel, mse_on, train_adding
from glassnet.optim import Adam

SUCCESS = 0.01
BASE = {"T": 200, "cell": "lstm", "hidden": 32, "steps": 1500, "batch": 64, "lr": 0.01, "max_norm": 1.0,
        "forget_bias": 1.0, "orthogonal": False, "stop": 1.0, "val_size": 500, "test_size": 1000}

# one candidate cause per group: each setting changes BASE's keys and nothing else
GROUPS: dict[str, dict[str, dict]] = {
    "default": {"default": {}},
    "budget": {f"steps={s}": {"steps": s, "stop": 0.5} for s in (1500, 3000, 6000)},
    # the early stop: at 1.0 a run stops the moment validation crosses the line, so the test MSE sits on it
    "stop": {f"stop at {f:g} x line": {"stop": f, "steps": 3000} for f in (1.0, 0.5, 0.25)},
    "lr": {f"lr={lr:g}": {"lr": lr, "steps": 3000, "stop": 0.5} for lr in (0.003, 0.01, 0.03)},
    "batch": {f"batch={b}": {"batch": b, "steps": 3000, "stop": 0.5} for b in (32, 64, 128)},
    "clip": {f"clip={c}": {"max_norm": c, "steps": 3000, "stop": 0.5} for c in (0.5, 1.0, 5.0, None)},
    "init": {
        **{f"forget_bias={f:g}": {"forget_bias": f, "steps": 3000, "stop": 0.5} for f in (0.0, 1.0, 2.0)},
        "orthogonal W_h": {"orthogonal": True, "steps": 3000, "stop": 0.5},
    },
    "gru": {"gru": {"cell": "gru", "steps": 3000, "stop": 0.5}},
    "long": {f"{cell} T={T}": {"cell": cell, "T": T, "steps": 6000, "stop": 0.5}
             for T in (500, 1000) for cell in ("lstm", "gru")},
    # where the LSTM's T = 1000 run stops learning: a longer budget, and the learning rate that helped at T = 200
    "long-budget": {"lstm T=1000 steps=15000": {"T": 1000, "steps": 15000, "stop": 0.5}},
    "long-lr": {"lstm T=1000 lr=0.03": {"T": 1000, "lr": 0.03, "steps": 6000, "stop": 0.5}},
}


def orthogonalise(model, rng: np.random.Generator) -> None:
    """Each gate block of ``W_h (H, G·H)`` replaced by an orthogonal matrix (Saxe et al. 2014)."""
    W = model.rec.W_h_l0  # (H, G·H), one layer
    H = W.data.shape[0]
    for g in range(W.data.shape[1] // H):
        q, r = np.linalg.qr(rng.standard_normal((H, H)))
        W.data[:, g * H:(g + 1) * H] = (q * np.sign(np.diag(r))).astype(W.data.dtype)


def run_one(setting: dict, seed: int) -> dict:
    cfg = {**BASE, **setting}
    data_seq, val_seq, test_seq, init_seq = np.random.SeedSequence(seed).spawn(4)
    T = cfg["T"]
    val = adding_problem(cfg["val_size"], T, rng=np.random.default_rng(val_seq))
    test = adding_problem(cfg["test_size"], T, rng=np.random.default_rng(test_seq))
    extra = {"forget_bias": cfg["forget_bias"]} if cfg["cell"] == "lstm" else {}
    init_rng = np.random.default_rng(init_seq)
    model = AddingModel(cfg["cell"], cfg["hidden"], init_rng, **extra)
    if cfg["orthogonal"]:
        orthogonalise(model, init_rng)
    opt = Adam(list(model.parameters()), lr=cfg["lr"])
    start = time.process_time()
    log = train_adding(model, opt, T, steps=cfg["steps"], batch_size=cfg["batch"], max_norm=cfg["max_norm"],
                       data_rng=np.random.default_rng(data_seq), val=val, eval_every=100,
                       stop_below=cfg["stop"] * SUCCESS * ADDING_TARGET_VAR)
    mse = mse_on(model, *test) if log.diverged is None else float("nan")
    first = next((s for s, v in log.curve if v < SUCCESS * ADDING_TARGET_VAR), None)
    return {"config": cfg, "seed": seed, "steps_run": log.steps, "first_below_line": first,
            "test_mse_over_var": mse / ADDING_TARGET_VAR, "solved": bool(mse < SUCCESS * ADDING_TARGET_VAR),
            "diverged": log.diverged, "cpu_seconds": round(time.process_time() - start, 1),
            "curve": [(int(s), float(v) / ADDING_TARGET_VAR) for s, v in log.curve]}


def table(rows: list[dict]) -> str:
    cells = defaultdict(list)
    for r in rows:
        cells[(r["group"], r["setting"])].append(r)
    out = ["| group | setting | seeds | solved | test MSE/Var per seed | first step below 1% | CPU s (mean) |",
           "|---|---|---|---|---|---|---|"]
    for (group, setting), rs in cells.items():
        rs.sort(key=lambda r: r["seed"])
        mses = ", ".join(f"{r['test_mse_over_var']:.4f}" for r in rs)
        firsts = ", ".join(str(r["first_below_line"] or "-") for r in rs)
        solved = sum(r["solved"] for r in rs)
        out.append(f"| {group} | {setting} | {' '.join(str(r['seed']) for r in rs)} | {solved}/{len(rs)} | {mses} "
                   f"| {firsts} | {np.mean([r['cpu_seconds'] for r in rs]):.0f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--group", action="append", choices=sorted(GROUPS), help="groups to run (repeatable)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--setting", action="append", default=None,
                   help="run only the settings of the groups that contain this text (repeatable)")
    p.add_argument("--table", action="store_true", help="print the markdown table of --out and exit")
    args = p.parse_args(argv)
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    if args.table:
        print(table(rows))
        return 0
    done = {(r["group"], r["setting"], r["seed"]) for r in rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for group in args.group or []:
        for setting, change in GROUPS[group].items():
            if args.setting and not any(text in setting for text in args.setting):
                continue
            for seed in args.seeds:
                if (group, setting, seed) in done:
                    continue
                r = {"group": group, "setting": setting, **run_one(change, seed)}
                with args.out.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"{group:8s} {setting:22s} seed {seed}: MSE/Var {r['test_mse_over_var']:.4f} "
                      f"({'solved' if r['solved'] else 'not solved'}), {r['steps_run']} steps, "
                      f"{r['cpu_seconds']} CPU s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
