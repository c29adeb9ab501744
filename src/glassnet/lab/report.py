"""``glassnet report``: every experiment's claim, verdict, table and plots on one HTML page.

The page is self-contained (plots embedded as base64 PNG) so it can be mailed
or opened from anywhere; it is written atomically.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable
from pathlib import Path

from glassnet.fileio import atomic_write_text
from glassnet.lab.base import format_table, run_experiment
from glassnet.lab.registry import experiments

__all__ = ["build_report", "render_html"]

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h2{border-top:1px solid #ccc;padding-top:1em}
.verdict{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600}
.supported{background:#d4f4d4}.not-supported{background:#f8d0d0}.inconclusive{background:#eee}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0}
td,th{padding:.2em .6em;text-align:left}
"""


def render_html(results: list[dict], title: str = "glassnet lab report") -> str:
    """One HTML page from result dicts (as in ``result.json``) and their folders (key ``_dir``)."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style>",
             f"<h1>{html.escape(title)}</h1>"]
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("supported", "not supported", "inconclusive")}
    parts.append("<p>" + ", ".join(f"{n} {v}" for v, n in counts.items()) + "</p><table><tr><th>topic</th>"
                 "<th>experiment</th><th>verdict</th></tr>")
    for r in results:
        cls = r["verdict"].replace(" ", "-")
        parts.append(f"<tr><td>{html.escape(r['topic'])}</td><td><a href='#{r['name']}'>{r['name']}</a></td>"
                     f"<td><span class='verdict {cls}'>{r['verdict']}</span></td></tr>")
    parts.append("</table>")
    for r in results:
        cls = r["verdict"].replace(" ", "-")
        parts.append(f"<h2 id='{r['name']}'>{html.escape(r['name'])} <small>({html.escape(r['topic'])})</small></h2>")
        parts.append(f"<p><b>Claim.</b> {html.escape(r['claim'])}</p>")
        parts.append(f"<p><b>Criterion.</b> {html.escape(r['criterion'])}</p>")
        parts.append(f"<p><b>Verdict:</b> <span class='verdict {cls}'>{r['verdict']}</span> "
                     f"({r['seconds']:.1f} s, seed {r['seed']}{', quick config' if r.get('quick') else ''})</p>")
        table = format_table(r.get("table") or [])
        if table:
            parts.append(f"<pre>{html.escape(table)}</pre>")
        if r.get("notes"):
            parts.append(f"<pre>{html.escape(chr(10).join(r['notes']))}</pre>")
        for plot in r.get("plots", []):
            path = Path(r["_dir"]) / plot
            if path.exists():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                parts.append(f"<img alt='{html.escape(plot)}' src='data:image/png;base64,{data}'>")
    return "\n".join(parts)


def _reusable(result_file: Path, *, seed: int, quick: bool) -> bool:
    """True if ``result_file`` exists and records a run with this ``seed`` and ``quick`` flag."""
    try:
        r = json.loads(result_file.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(r, dict) and r.get("seed") == seed and r.get("quick") is quick


def build_report(out_dir: str | Path, *, quick: bool = True, names: Iterable[str] | None = None, seed: int = 0,
                 data_dir: str | Path | None = None, verbose: bool = True, rerun: bool = True) -> Path:
    """Run experiments (quick by default) into ``out_dir/<name>/`` and write ``out_dir/report.html``.

    With ``rerun=False`` an experiment whose ``result.json`` already exists and
    was written with the same ``seed`` and ``quick`` flag is read rather than
    run again (so an interrupted report resumes); one from other settings, or
    unreadable, is run again, reusing the units an interrupted run of it left (``--resume``).

    Returns:
        The path of ``report.html``.
    """
    out = Path(out_dir)
    table = experiments()
    chosen = list(names) if names else list(table)
    results = []
    for name in chosen:
        exp_dir = out / name
        result_file = exp_dir / "result.json"
        if rerun or not _reusable(result_file, seed=seed, quick=quick):
            run_experiment(table[name], quick=quick, out_dir=exp_dir, seed=seed, data_dir=data_dir,
                           verbose=verbose, printer=print if verbose else None, resume=not rerun)
        r = json.loads(result_file.read_text())
        r["_dir"] = str(exp_dir)
        results.append(r)
    path = out / "report.html"
    atomic_write_text(path, render_html(results))
    return path
