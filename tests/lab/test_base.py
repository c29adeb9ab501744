import json
from dataclasses import dataclass, field

import pytest

from glassnet.errors import ConfigError, DataError
from glassnet.lab.base import Experiment, Outcome, make_config, run_experiment, verdict_from
from glassnet.lab.report import render_html


class Coin(Experiment):
    name = "coin"
    topic = "Testing"
    claim = "A fair coin lands heads about half the time."
    criterion = "|heads/n - 0.5| < 3 sigma"

    @dataclass
    class Config:
        n: int = field(default=10_000, metadata={"help": "tosses"})
        p: float = field(default=0.5, metadata={"help": "probability of heads"})
        tags: tuple = field(default=("a",), metadata={"help": "labels"})

    quick = {"n": 1000}
    quick_criterion = "the same rule on 1,000 tosses"

    def run(self, config, ctx):
        heads = int((ctx.rng.random(config.n) < config.p).sum())
        freq = heads / config.n
        sigma = (0.25 / config.n) ** 0.5
        fig, ax = ctx.figure()
        ax.bar(["heads", "tails"], [heads, config.n - heads])
        ctx.savefig(fig, "counts")
        return Outcome(verdict_from(abs(freq - 0.5) < 3 * sigma), {"freq": freq}, [{"n": config.n, "freq": freq}])


def test_run_writes_result_and_prints_verdict_last(tmp_path, capsys):
    r = run_experiment(Coin, quick=True, out_dir=tmp_path, seed=3, verbose=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"quick check: {r.verdict} (the same rule on 1,000 tosses)"
    data = json.loads((tmp_path / "result.json").read_text())
    for key in ("name", "claim", "criterion", "verdict", "metrics", "config", "seed", "seconds"):
        assert key in data
    assert data["config"]["n"] == 1000 and data["seed"] == 3
    assert (tmp_path / "counts.png").stat().st_size > 1000
    assert data["verdict"] == "supported"
    # same seed, same numbers
    r2 = run_experiment(Coin, quick=True, seed=3, verbose=False, printer=None)
    assert r2.metrics == r.metrics


def test_verdict_can_be_not_supported():
    r = run_experiment(Coin, overrides={"p": "0.9", "n": "2000"}, verbose=False, printer=None)
    assert r.verdict == "not supported"


def test_config_rejects_unknown_key_and_bad_type():
    with pytest.raises(ConfigError, match="unknown config key 'tosses'; known keys: n, p, tags"):
        make_config(Coin, overrides={"tosses": 3})
    with pytest.raises(ConfigError, match=r"coin.n: cannot read 'many' as int"):
        make_config(Coin, overrides={"n": "many"})
    assert make_config(Coin, overrides={"tags": "x,y"}).tags == ("x", "y")


def test_report_html_contains_claim_and_plot(tmp_path):
    run_experiment(Coin, quick=True, out_dir=tmp_path, verbose=False, printer=None)
    r = json.loads((tmp_path / "result.json").read_text())
    r["_dir"] = str(tmp_path)
    page = render_html([r])
    assert Coin.claim in page and "data:image/png;base64," in page and "supported" in page


def test_full_run_ends_with_verdict_line_and_records_where_it_ran(tmp_path, capsys):
    r = run_experiment(Coin, out_dir=tmp_path, seed=3, verbose=False, overrides={"n": 500})
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"verdict: {r.verdict}"
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["quick"] is False and data["quick_criterion"] == ""
    assert data["machine"]["cores"] >= 1 and data["machine"]["numpy"] and data["date"].startswith("20")
    assert data["cpu_seconds"] >= 0


class MissingData(Coin):
    name = "missing-data"
    data = ("ptb",)

    def run(self, config, ctx):
        raise DataError("ptb: no file ptb.train.txt in /nowhere")


def test_missing_data_is_inconclusive_with_a_how_to(tmp_path, capsys):
    r = run_experiment(MissingData, quick=True, out_dir=tmp_path, verbose=False)
    assert r.verdict == "inconclusive"
    assert "glassnet data download ptb" in " ".join(r.notes)
    assert r.metrics["missing_data"].startswith("ptb: no file")
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("quick check: inconclusive")


class Units(Coin):
    name = "units"
    calls: list = []

    def run(self, config, ctx):
        gens = ctx.spawn(3)
        values = []
        for k, g in enumerate(gens):
            def work(g=g, k=k):
                Units.calls.append(k)
                if k == 1 and Units.interrupt:
                    raise KeyboardInterrupt
                return [float(g.random()), (k, k)]
            values.append(ctx.unit(f"part-{k}", work))
        return Outcome("supported", {"values": values})


def test_units_resume_after_an_interrupt_with_the_same_numbers(tmp_path):
    Units.interrupt, Units.calls = False, []
    whole = run_experiment(Units, seed=4, out_dir=tmp_path / "a", verbose=False, printer=None)
    assert whole.metrics["values"][0][1] == [0, 0]  # the JSON round trip, also when not resumed
    Units.interrupt, Units.calls = True, []
    with pytest.raises(KeyboardInterrupt):
        run_experiment(Units, seed=4, out_dir=tmp_path / "b", verbose=False, printer=None)
    assert Units.calls == [0, 1]
    Units.interrupt, Units.calls = False, []
    resumed = run_experiment(Units, seed=4, out_dir=tmp_path / "b", verbose=False, printer=None, resume=True)
    assert Units.calls == [1, 2] and resumed.resumed_units == 1
    assert resumed.metrics == whole.metrics
    Units.calls = []  # another seed: nothing is reused
    other = run_experiment(Units, seed=5, out_dir=tmp_path / "b", verbose=False, printer=None, resume=True)
    assert Units.calls == [0, 1, 2] and other.resumed_units == 0 and other.metrics != whole.metrics


def test_spawn_does_not_depend_on_draws_from_rng():
    from glassnet.lab.base import RunContext

    a = RunContext(7, None, None, quick=True, verbose=False)
    b = RunContext(7, None, None, quick=True, verbose=False)
    b.rng.random(100)
    assert [g.random() for g in a.spawn(2)] == [g.random() for g in b.spawn(2)]
    # the second call gives new children, not the first call's again
    assert [g.random() for g in a.spawn(1)] != [g.random() for g in RunContext(7, None, None, True).spawn(1)]
    with pytest.raises(ConfigError, match="key must be"):
        a.unit("../x", lambda: 1)


def test_experiments_import_no_other_experiment_and_none_writes_its_own_training_step():
    """Shared code lives in a topic's own module (adding.py, pairs.py, cartpole.py); steps go through train_step."""
    import ast
    import inspect

    from glassnet.lab import experiments

    modules = {exp.__module__: exp for exp in experiments().values()}
    for name, exp in modules.items():
        source = inspect.getsource(inspect.getmodule(exp))
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
        others = sorted(imported & (set(modules) - {name}))
        assert not others, f"{name} imports the experiments {others}"
        # the course's step is written once, in glassnet.train.step: no experiment updates weights itself
        # (a gradient probe may call backward, as vanishing-gradient measures dL/dh_t; no one calls step)
        assert "optimizer.step()" not in source and "opt.step()" not in source, f"{name} writes its own step"


def test_pr_curves_draws_one_step_line_per_class_from_an_evaluation():
    import numpy as np

    from glassnet.detection import evaluate_detections
    from glassnet.lab import plotting

    gt = [{"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float), "classes": np.array([0, 1])}]
    pred = [{"boxes": np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]], float),
             "scores": np.array([0.9, 0.8, 0.7]), "classes": np.array([0, 0, 1])}]
    result = evaluate_detections(pred, gt, method="voc")
    fig = plotting.pr_curves(result.curves, names={0: "zero", 1: "one"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"zero (AP {result.ap[0]:.3f})", f"one (AP {result.ap[1]:.3f})"]
    x, y = ax.lines[0].get_data()  # class 0: a hit then a miss, recall 1 after the first detection
    np.testing.assert_allclose(x, [0.0, 1.0, 1.0])
    np.testing.assert_allclose(y, [1.0, 1.0, 0.5])
    assert plotting.png_bytes(fig)[:4] == b"\x89PNG"
