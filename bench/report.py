"""Results out: ratios to each workload's baseline, the printed table (text or Markdown), the
JSON file and the PNG chart."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.contenders import LABELS
from bench.workloads import BY_KEY, Workload


def add_ratios(results: dict[str, Any]) -> None:
    """Per workload result: ``ratio`` (time / baseline time) and, against SQLAlchemy,
    ``speedup`` (baseline time / time)."""
    for wkey, per in results.items():
        w = BY_KEY[wkey]
        base = per.get(w.baseline, {})
        if base.get("status") != "ok":
            continue
        for r in per.values():
            if r.get("status") == "ok":
                r["ratio"] = r["median_ms"] / base["median_ms"]
                if w.baseline != "raw":
                    r["speedup"] = base["median_ms"] / r["median_ms"]


def _cell(r: dict[str, Any] | None, repeat: int) -> str:
    if r is None:
        return "-"
    status = r.get("status")
    if status != "ok":
        return {"n/a": "n/a", "missing": "not installed"}.get(status, "ERROR")
    ms = r["median_ms"]
    text = f"{ms:,.1f}" if ms < 1000 else f"{ms:,.0f}"
    runs = len(r["runs_ms"])
    if runs < repeat:  # stopped by the time budget
        text += f" [{runs} run{'s' * (runs > 1)}]"
    if "speedup" in r:
        s = r["speedup"]
        if s == 1.0:  # the baseline itself
            return f"{text} (1.00x)"
        return f"{text} ({s:.1f}x faster)" if s >= 1 else f"{text} ({1 / s:.1f}x slower)"
    if "ratio" in r:
        return f"{text} ({r['ratio']:.2f}x)"
    return text


def _goal(w: Workload, backend: str, r: dict[str, Any] | None) -> str:
    if not w.goal or backend not in w.goal:
        return ""
    g = w.goal[backend]
    if w.baseline == "raw":
        want, field = f"<= {g:.1f}x", "ratio"
    else:
        want, field = f">= {g:g}x faster", "speedup"
    if r is None or field not in r:  # no time, or no baseline to compare with
        return want
    met = r[field] <= g if field == "ratio" else r[field] >= g
    return f"{want} {'met' if met else 'MISSED'}"


def _api_cost(own: dict[str, Any] | None, sa: dict[str, Any] | None) -> str:
    """What asyncqlio's SQLAlchemy-shaped API costs over its own, for one workload."""
    if not own or not sa or own.get("status") != "ok" or sa.get("status") != "ok":
        return ""
    return f"{sa['median_ms'] / own['median_ms']:.2f}x"


def table(backend: str, label: str, results: dict[str, Any], keys: list[str], repeat: int,
          fmt: str = "text") -> str:
    """One backend's results: a row per workload, a column per contender, ms (ratio)."""
    both_apis = "asyncqlio" in keys and "asyncqlio_sa" in keys
    header = ["workload", *(LABELS[k] for k in keys), "asyncqlio goal"]
    if both_apis:
        header.append("SQLAlchemy API / own API (goal <= 1.10x)")
    rows = []
    for wkey, per in results.items():
        w = BY_KEY[wkey]
        rows.append([w.title, *(_cell(per.get(k), repeat) for k in keys),
                     _goal(w, backend, per.get("asyncqlio"))])
        if both_apis:
            rows[-1].append(_api_cost(per.get("asyncqlio"), per.get("asyncqlio_sa")))
    title = (f"{label}: median of {repeat} runs, ms (ratio to the raw driver; "
             "compile: speed-up vs SQLAlchemy)")
    errors = [f"  {LABELS[k]} / {wkey}: {r.get('error')}" for wkey, per in results.items()
              for k, r in per.items() if r.get("status") in ("error", "missing")]
    if fmt == "markdown":
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                             for i, c in enumerate(cells)).rstrip()
        lines = [title, line(header), "-" * len(line(header)), *map(line, rows)]
    if errors:
        lines += ["", "errors:", *errors]
    return "\n".join(lines)


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def plot(path: Path, report: dict[str, Any], keys: list[str]) -> None:
    """A bar chart per backend: each workload's time relative to its baseline (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = report["backends"]
    fig, axes = plt.subplots(len(backends), 1, figsize=(11, 4.2 * len(backends)), squeeze=False)
    width = 0.8 / max(1, len(keys))
    for ax, (backend, info) in zip(axes[:, 0], backends.items()):
        wkeys = list(info["results"])
        for j, key in enumerate(keys):
            xs, ys = [], []
            for x, wkey in enumerate(wkeys):
                r = info["results"][wkey].get(key, {})
                if "ratio" in r:
                    xs.append(x + (j - (len(keys) - 1) / 2) * width)
                    ys.append(r["ratio"])
            bars = ax.bar(xs, ys, width, label=LABELS[key])
            ax.bar_label(bars, labels=[f"{y:.2g}" for y in ys], fontsize=7)
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(wkeys)))
        ax.set_xticklabels([wk.replace("_", " ") + (f"\n(vs {LABELS[BY_KEY[wk].baseline]})"
                            if BY_KEY[wk].baseline != "raw" else "") for wk in wkeys])
        ax.set_ylabel("time / baseline (lower is better)")
        ax.set_title(info["label"])
        ax.legend(fontsize=8)
    fig.suptitle(f"asyncqlio benchmark (speedups compiled: {report['meta']['compiled']})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
