import json
from dataclasses import dataclass, field

import pytest

from glassnet.errors import ConfigError
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

    def run(self, config, ctx):
        heads = int((ctx.rng.random(config.n) < config.p).sum())
        freq = heads / config.n
        sigma = (0.25 / config.n) ** 0.5
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.bar(["heads", "tails"], [heads, config.n - heads])
        ctx.savefig(fig, "counts")
        return Outcome(verdict_from(abs(freq - 0.5) < 3 * sigma), {"freq": freq}, [{"n": config.n, "freq": freq}])


def test_run_writes_result_and_prints_verdict_last(tmp_path, capsys):
    r = run_experiment(Coin, quick=True, out_dir=tmp_path, seed=3, verbose=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"verdict: {r.verdict}"
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
