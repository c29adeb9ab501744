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
from glassnet.lab.recorded import load_recorded
from glassnet.lab.registry import experiments

__all__ = ["build_report", "render_html"]

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h2{border-top:1px solid #ccc;padding-top:1em}
.verdict{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600}
.supported{background:#d4f4d4}.not-supported{background:#f8d0d0}.inconclusive{background:#eee}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0}
.recorded{border-left:4px solid #99c;background:#f4f4fb;padding:.4em .8em;margin:.6em 0}
td,th{padding:.2em .6em;text-align:left}
"""


def recorded_html(record: dict) -> str:
    """The box shown beside a quick result: the recorded full run's verdict, key numbers, seed, date, CPU, machine."""
    cls = record["verdict"].replace(" ", "-")
    machine = record.get("machine", {})
    where = f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, NumPy {machine.get('numpy', '?')}"
    numbers = ", ".join(f"{html.escape(k)} = {v:.4g}" if isinstance(v, float) else f"{html.escape(k)} = {v}"
                        for k, v in record.get("metrics", {}).items())
    return (f"<div class='recorded'><b>Recorded full run</b> (from the package's recorded.json, not run now): "
            f"<span class='verdict {cls}'>{html.escape(record['verdict'])}</span> under the full criterion; "
            f"seed {record['seed']}, {html.escape(str(record['date']))}, {record['cpu_seconds']:.0f} CPU s "
            f"({record['seconds']:.0f} s wall) on {html.escape(where)}, glassnet {html.escape(record['glassnet'])}"
            f"<br><small>{numbers}</small></div>")


def render_html(results: list[dict], title: str = "glassnet lab report", recorded: dict | None = None) -> str:
    """One HTML page from result dicts (as in ``result.json``) and their folders (key ``_dir``).

    ``recorded``: recorded full runs by name (:func:`~glassnet.lab.recorded.load_recorded`), shown beside
    every quick result.
    """
    recorded = recorded or {}
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style>",
             f"<h1>{html.escape(title)}</h1>"]
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("supported", "not supported", "inconclusive")}
    quick = any(r.get("quick") for r in results)
    parts.append("<p>" + ", ".join(f"{n} {v}" for v, n in counts.items())
                 + (" (quick checks: smaller rules on smaller runs; the recorded full runs decide the claims)"
                    if quick else "") + "</p><table><tr><th>topic</th><th>experiment</th>"
                 + ("<th>quick check</th><th>recorded full run</th>" if quick else "<th>verdict</th>") + "</tr>")
    for r in results:
        cls = r["verdict"].replace(" ", "-")
        row = (f"<tr><td>{html.escape(r['topic'])}</td><td><a href='#{r['name']}'>{r['name']}</a></td>"
               f"<td><span class='verdict {cls}'>{r['verdict']}</span></td>")
        if quick:
            rec = recorded.get(r["name"])
            row += (f"<td><span class='verdict {rec['verdict'].replace(' ', '-')}'>{rec['verdict']}</span> "
                    f"<small>({html.escape(str(rec['date'])[:10])})</small></td>" if rec else "<td>-</td>")
        parts.append(row + "</tr>")
    parts.append("</table>")
    for r in results:
        cls = r["verdict"].replace(" ", "-")
        parts.append(f"<h2 id='{r['name']}'>{html.escape(r['name'])} <small>({html.escape(r['topic'])})</small></h2>")
        parts.append(f"<p><b>Claim.</b> {html.escape(r['claim'])}</p>")
        parts.append(f"<p><b>Criterion.</b> {html.escape(r['criterion'])}</p>")
        if r.get("quick"):
            rule = r.get("quick_criterion") or "the full criterion on a smaller run"
            parts.append(f"<p><b>Quick check</b> ({html.escape(rule)}): <span class='verdict {cls}'>{r['verdict']}"
                         f"</span> ({r['seconds']:.1f} s, seed {r['seed']})</p>")
            if r["name"] in recorded:
                parts.append(recorded_html(recorded[r["name"]]))
            else:
                parts.append("<p><i>No recorded full run of this experiment in this version.</i></p>")
        else:
            parts.append(f"<p><b>Verdict:</b> <span class='verdict {cls}'>{r['verdict']}</span> "
                         f"({r['seconds']:.1f} s, seed {r['seed']})</p>")
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
    atomic_write_text(path, render_html(results, recorded=load_recorded() if quick else None))
    return path
