"""The ``landscape`` command: list, run, explore and plot experiments.

    landscape list
    landscape run NAME [--quick] [--set field=value ...] [--out DIR] [--resume DIR]
    landscape explore [--quick] [--set field=value ...] [--out DIR] [--resume DIR]
    landscape plot RUN_DIR
    landscape report RUN_DIR | RUNS_DIR

The experiments are found here, in the command-line layer, and nowhere in the
library: `all_experiments` imports every module of ``landscape.experiments``
(the repository's ``experiments/`` folder, installed under the project's
namespace) that defines ``NAME``. An experiment module defines ``NAME``
(dashes), ``DESCRIPTION`` (one line), a frozen dataclass ``Config`` with
``quick()`` and ``default()``, ``run(config, run_dir)`` (resumable) and
``plot(run_dir) -> list[Path]``; ``landscape plot RUN_DIR`` reads the run's
``config.json`` and calls its experiment's ``plot``.

``landscape run`` and ``landscape explore`` print the run directory first, one
progress line per finished point (with the time left), the figures, a short
summary of the rows, and at the end write ``RUN_DIR/report.html``
(`landscape.report`) and print its path. ``landscape report RUN_DIR``
rewrites that page; ``landscape report runs/`` writes every run's page and
``runs/index.html`` linking them. Starts and resumes are appended to
``RUN_DIR/events.jsonl`` so the report can say which points a resume computed.

``--set field=value`` decodes the value as JSON where it parses (``n=10``,
``alphas=[0.5,1.0]``), else takes it as a string; a single value given for a
list field is a one-element list (``--set alphas=2.0``).

``LANDSCAPE_CPU_DEVICES=K`` gives XLA K CPU devices
(`landscape.parallel.use_cpu_devices`), so the sample and replica axes of a
run are split over K cores. Off by default: one ``landscape explore`` with two
CPU devices stalled (no CPU use) in its perceptron stage, not yet understood;
runs use the platform's devices as they are. Skipped when ``XLA_FLAGS``
already sets a device count; only the CPU platform is affected.

Bad input (an unknown experiment, an unknown or ill-typed ``--set`` field, a bad
value, an unreadable ``--resume`` directory) prints one line ``error: ...`` and
exits with status 2. A missing extra prints the ``pip install 'landscape[...]'``
line and exits with status 1; after a finished run, a missing ``plot`` extra
only skips the figures (``landscape plot RUN_DIR`` draws them later).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import pkgutil
import sys
import types
import typing
from pathlib import Path
from typing import Any

from landscape import parallel

EXPERIMENTS = "landscape.experiments"


def all_experiments() -> dict[str, types.ModuleType]:
    """NAME -> module for every experiment module of ``landscape.experiments``, sorted by name.

    Modules named ``bench_*`` (benchmark scripts), ``panel_*`` (panels of
    ``landscape explore``) or ``_*`` are skipped, as are modules without ``NAME``.
    """
    package = importlib.import_module(EXPERIMENTS)
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith(("bench_", "panel_", "_")):
            continue
        module = importlib.import_module(f"{EXPERIMENTS}.{info.name}")
        if hasattr(module, "NAME"):
            found[module.NAME] = module
    return dict(sorted(found.items()))


def experiment(name: str) -> types.ModuleType:
    """The experiment module called ``name``; ValueError naming the known ones otherwise."""
    found = all_experiments()
    if name not in found:
        raise ValueError(f"unknown experiment {name!r}; expected one of: {', '.join(found)}")
    return found[name]


def _convert(value: Any, annotation: Any, field: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, field)
            except ValueError:
                continue
        raise ValueError(f"--set {field}={json.dumps(value)}: expected {annotation}")
    if origin in (tuple, list):
        if not isinstance(value, list):
            value = [value]  # --set alphas=2.0: a one-element list
        inner = args[0] if args else Any
        return tuple(_convert(v, inner, field) for v in value)
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"--set {field}={json.dumps(value)}: expected one of {list(args)}")
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is Any:
        return value
    else:
        return value
    name = getattr(annotation, "__name__", str(annotation))
    raise ValueError(f"--set {field}={json.dumps(value)}: expected a value of type {name}")


def config_from(config_cls: type, base: Any, assignments: dict[str, Any]) -> Any:
    """A new config from ``base`` with fields replaced, each converted to its declared type.

    Values are JSON-decoded when they are strings that parse as JSON (so
    ``alphas=[0.5,1.0]`` is a list and ``n=10`` an int); a single value for a
    list field is a one-element list (``alphas=2`` is ``(2.0,)``); unknown
    fields and ill-typed values raise ValueError.
    """
    hints = typing.get_type_hints(config_cls)
    names = {f.name for f in dataclasses.fields(config_cls)}
    changes = {}
    for field, raw in assignments.items():
        if field not in names:
            raise ValueError(
                f"--set {field}: unknown field of {config_cls.__module__}.Config; "
                f"expected one of {sorted(names)}"
            )
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        changes[field] = _convert(value, hints[field], field)
    return dataclasses.replace(base, **changes)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=[1,2]"]`` -> ``{"a": "1", "b": "[1,2]"}``; ValueError for a missing '='."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected field=value")
        field, value = item.split("=", 1)
        out[field.strip()] = value.strip()
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        raise ValueError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="landscape", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="list experiments with one-line descriptions")
    run = sub.add_parser("run", help="run an experiment")
    run.add_argument("name", help="experiment name (see `landscape list`)")
    explore = sub.add_parser("explore", help="the main job: a tour of the library in minutes")
    for p in (run, explore):
        p.add_argument("--quick", action="store_true", help="the quick config (seconds)")
        p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
        p.add_argument("--out", help="make this directory the run directory")
        p.add_argument("--resume", help="continue this run directory")
    plot = sub.add_parser("plot", help="draw the figures of a run directory")
    plot.add_argument("run_dir")
    report = sub.add_parser(
        "report", help="write RUN_DIR/report.html (or an index.html for a directory of runs)"
    )
    report.add_argument("run_dir")
    return parser


def _run(name: str, args: argparse.Namespace, command: list[str]) -> Path:
    from landscape import runs

    module = experiment(name)
    if args.resume:
        record = runs.read_config(args.resume)
        if record.get("experiment") != name:
            raise ValueError(
                f"--resume {args.resume}: the run is of experiment "
                f"{record.get('experiment')!r}, not {name!r}"
            )
        if args.out or args.set or args.quick:
            raise ValueError("--resume takes the stored config; drop --out, --set and --quick")
        config = config_from(module.Config, module.Config.default(), record["config"])
        run_dir = Path(args.resume)
    else:
        base = module.Config.quick() if args.quick else module.Config.default()
        assignments = parse_assignments(args.set)
        config = config_from(module.Config, base, assignments)
        run_dir = runs.create(args.out, name, config)
    print(f"run directory: {run_dir}", flush=True)
    runs.record_event(run_dir, "resume" if args.resume else "start", command=command)
    module.run(config, run_dir)
    try:
        _figures(module, run_dir)
    except ImportError as exc:  # the results are written; the figures can follow
        if not _missing_extra(exc):
            raise
        print(f"no figures: {exc}; then: landscape plot {run_dir}", file=sys.stderr)
    summary = run_dir / "summary.txt"
    if summary.exists():
        print(summary.read_text().rstrip())
    else:
        for line in rows_summary(run_dir):
            print(line)
    _report(run_dir, after_run=True)
    return run_dir


def rows_summary(run_dir: str | os.PathLike) -> list[str]:
    """A few lines about a run's rows: how many, then the first and last in brief."""
    from landscape import report, runs

    rows = runs.read_rows(run_dir)
    if not rows:
        return [f"rows: none in {Path(run_dir) / runs.RESULTS}"]
    first = next(
        (e["coordinates"] for e in reversed(runs.read_events(run_dir)) if e.get("coordinates")),
        [],
    )
    seconds = sum(r.get("seconds", 0) for r in rows if isinstance(r.get("seconds"), (int, float)))
    lines = [f"rows: {len(rows)} in {Path(run_dir) / runs.RESULTS} ({runs.duration(seconds)})"]
    shown = [("first", rows[0])] if len(rows) == 1 else [("first", rows[0]), ("last", rows[-1])]
    constant = report.constant_keys(rows)
    for label, row in shown:
        index = f"[{row['point_index']}] " if "point_index" in row else ""
        lines.append(f"  {label + ':':6s} {index}{report.headline(row, first, skip=constant)}")
    return lines


def _modules(name: str) -> list[types.ModuleType]:
    """The experiment's module, then modules it composes (``PANELS``) whose docs caption figures."""
    try:
        module = experiment(name)
    except ValueError:
        return []
    extra = []
    for panel in getattr(module, "PANELS", ()):
        try:
            extra.append(importlib.import_module(f"{EXPERIMENTS}.{panel}"))
        except ImportError:
            continue
    return [module, *extra]


def _report(path: str | os.PathLike, *, after_run: bool = False) -> None:
    """Write the report of a run (or the index of a directory of runs) and print where."""
    from landscape import report

    if report.is_run(path) or after_run:
        try:
            written = report.write(path, _modules(_experiment_name(path)), _modules)
        except (ValueError, OSError) as exc:
            if not after_run:
                raise
            print(f"no report: {exc}; then: landscape report {path}", file=sys.stderr)
            return
        print(f"report: {written}")
    else:
        written, count = report.write_index(path, _modules)
        print(f"index: {written} ({count} runs)")


def _experiment_name(path: str | os.PathLike) -> str:
    from landscape import runs

    return str(runs.read_config(path).get("experiment", ""))


def _figures(module: types.ModuleType, run_dir: Path) -> None:
    for path in module.plot(Path(run_dir)):
        print(f"figure: {path}")


def _missing_extra(exc: ImportError) -> bool:
    """Whether `exc` is the library's own "pip install 'landscape[...]'" message."""
    return "pip install 'landscape[" in str(exc)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``landscape`` command; returns the exit status."""
    # before any JAX backend starts (importing jax starts none; the first array does)
    parallel.use_cpu_devices(os.environ.get("LANDSCAPE_CPU_DEVICES"))
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            for name, module in all_experiments().items():
                print(f"{name:22s} {module.DESCRIPTION}")
        elif args.command in ("run", "explore"):
            command = ["landscape", *(sys.argv[1:] if argv is None else argv)]
            _run(args.name if args.command == "run" else "explore", args, command)
        elif args.command == "report":
            _report(args.run_dir)
        elif args.command == "plot":
            from landscape import runs

            record = runs.read_config(args.run_dir)
            _figures(experiment(record.get("experiment", "")), args.run_dir)
    except (ValueError, FileNotFoundError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except ImportError as exc:  # a missing extra (matplotlib, scikit-learn): one line too
        if not _missing_extra(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
