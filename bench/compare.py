"""Compare asyncqlio with the raw driver, SQLAlchemy 2.x async ORM and Tortoise ORM.

    python -m bench                                  # SQLite, a temporary file
    python -m bench --backend postgresql --dsn postgresql://postgres@127.0.0.1:5432/test
    python -m bench --backend all --repeat 7 --plot  # both, and a PNG chart
    python -m bench --pure                           # asyncqlio without its compiled speedups
    python bench/compare.py --workloads update --contenders raw,asyncqlio

Six workloads on a 10,000-row, 6-column table (issue 3), every contender in one process;
each run is verified, the median of ``--repeat`` runs is reported with its ratio to the raw
driver (build + compile: speed-up over SQLAlchemy). Needs ``pip install -e '.[bench]'``.
PostgreSQL runs in a schema of its own (``bench_<pid>``), dropped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.contenders import REGISTRY  # noqa: E402
from bench.store import DEFAULT_PG_DSN, Target  # noqa: E402
from bench.workloads import BY_KEY  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
_DISTRIBUTIONS = ("asyncqlio", "asyncpg", "aiosqlite", "SQLAlchemy", "tortoise-orm")


def _list(choices: list[str]) -> Any:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {choices}")
        return items
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="sqlite")
    p.add_argument("--dsn", default=os.environ.get("ASYNCQLIO_BENCH_PG_DSN", DEFAULT_PG_DSN),
                   help="PostgreSQL DSN (default %(default)s)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per cell (median kept)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    p.add_argument("--budget", type=float, default=60.0,
                   help="seconds one contender may spend on one workload before its "
                        "remaining runs are skipped (default %(default)s)")
    p.add_argument("--workloads", type=_list(list(BY_KEY)), default=list(BY_KEY),
                   help="comma-separated subset of: " + ", ".join(BY_KEY))
    p.add_argument("--contenders", type=_list(list(REGISTRY)), default=list(REGISTRY),
                   help="comma-separated subset of: " + ", ".join(REGISTRY))
    p.add_argument("--json", type=Path, default=RESULTS / "latest.json",
                   help="where to write the results (default %(default)s); '-' for nowhere")
    p.add_argument("--plot", type=Path, nargs="?", const=RESULTS / "latest.png",
                   help="write a PNG bar chart (default path bench/results/latest.png)")
    p.add_argument("--format", choices=["text", "markdown"], default="text")
    p.add_argument("--pure", action="store_true",
                   help="run asyncqlio uncompiled (sets ASYNCQLIO_NO_EXTENSIONS=1)")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        p.error("--repeat must be >= 1 and --warmup >= 0")
    return args


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    import asyncqlio._speedups as speedups
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "compiled": speedups.COMPILED,
        "modules_compiled": speedups.MODULES_COMPILED,
        "pure_requested": args.pure,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "versions": {d: _version(d) for d in _DISTRIBUTIONS},
        "repeat": args.repeat,
        "warmup": args.warmup,
        "budget_s": args.budget,
    }


def _header(meta: dict[str, Any]) -> str:
    v = meta["versions"]
    mods = ", ".join(f"{m}={c}" for m, c in meta["modules_compiled"].items())
    load = ", ".join(f"{x:.1f}" for x in meta["load_average"])
    return (f"asyncqlio {v['asyncqlio']}: asyncqlio._speedups.COMPILED = {meta['compiled']} "
            f"({mods})\n"
            f"Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs, "
            f"load average {load}\n"
            f"SQLAlchemy {v['SQLAlchemy']}, tortoise-orm {v['tortoise-orm']}, "
            f"asyncpg {v['asyncpg']}, aiosqlite {v['aiosqlite']}")


def _targets(args: argparse.Namespace) -> list[Target]:
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    return [Target.sqlite() if b == "sqlite" else Target.postgresql(args.dsn) for b in backends]


async def _run(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    from tqdm import tqdm

    from bench import report, runner
    workloads = [BY_KEY[k] for k in args.workloads]
    keys = [k for k in REGISTRY if k in args.contenders]
    out: dict[str, Any] = {"meta": meta, "backends": {}}
    for target in _targets(args):
        total = len(workloads) * len(keys) * (args.repeat + args.warmup)
        with tqdm(total=total, desc=target.backend, unit="run", file=sys.stderr,
                  dynamic_ncols=True) as bar:
            results = await runner.run_backend(target, keys, workloads, args.repeat,
                                               args.warmup, bar, args.budget)
        report.add_ratios(results)
        out["backends"][target.backend] = {"label": target.label, "results": results}
        print()
        print(report.table(target.backend, target.label, results, keys, args.repeat,
                           args.format), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pure:
        os.environ["ASYNCQLIO_NO_EXTENSIONS"] = "1"  # before anything imports asyncqlio
    from bench import report
    meta = _meta(args)
    print(_header(meta), flush=True)
    out = asyncio.run(_run(args, meta))
    if str(args.json) != "-":
        report.write_json(args.json, out)
        print(f"\nresults: {args.json}")
    if args.plot is not None:
        report.plot(args.plot, out, [k for k in REGISTRY if k in args.contenders])
        print(f"chart: {args.plot}")
    failed = any(r.get("status") == "error" for b in out["backends"].values()
                 for per in b["results"].values() for r in per.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
