"""The ``landscape`` command: list, run, explore and plot experiments.

    landscape list
    landscape run NAME [--quick] [--set field=value ...] [--out DIR] [--resume DIR]
    landscape explore [--quick] [--out DIR] [--resume DIR]
    landscape plot RUN_DIR

``LANDSCAPE_CPU_DEVICES=K`` gives XLA K CPU devices (`use_cpu_cores`), so the
sample and replica axes of a run are split over K cores.

Bad input (an unknown experiment, an unknown or ill-typed ``--set`` field, a bad
value, an unreadable ``--resume`` directory) prints one line ``error: ...`` and
exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


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
    return parser


def _run(name: str, args: argparse.Namespace) -> Path:
    from landscape import experiments_registry, runs

    module = experiments_registry.get(name)
    if args.resume:
        record = runs.read_config(args.resume)
        if record.get("experiment") != name:
            raise ValueError(
                f"--resume {args.resume}: the run is of experiment "
                f"{record.get('experiment')!r}, not {name!r}"
            )
        if args.out or args.set or args.quick:
            raise ValueError("--resume takes the stored config; drop --out, --set and --quick")
        config = experiments_registry.config_from(
            module.Config, module.Config.default(), record["config"]
        )
        run_dir = Path(args.resume)
    else:
        base = module.Config.quick() if args.quick else module.Config.default()
        assignments = experiments_registry.parse_assignments(args.set)
        config = experiments_registry.config_from(module.Config, base, assignments)
        run_dir = runs.create(args.out, name, config)
    print(f"run directory: {run_dir}", flush=True)
    module.run(config, run_dir)
    for path in module.plot(run_dir):
        print(f"figure: {path}")
    return run_dir


def use_cpu_cores() -> None:
    """With ``LANDSCAPE_CPU_DEVICES=K``, give XLA K CPU devices (e.g. one per core).

    `landscape.parallel` splits sample, replica and point axes over devices,
    so K devices use K cores for the ensembles of a run. Off by default: one
    ``landscape explore`` with two CPU devices stalled (no CPU use) in its
    perceptron stage, not yet understood; runs use the platform's devices as
    they are. Skipped when XLA_FLAGS already
    sets a device count. Only the CPU platform is affected; it must run
    before JAX creates its backends.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    count = os.environ.get("LANDSCAPE_CPU_DEVICES")
    if not count or "xla_force_host_platform_device_count" in flags:
        return
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``landscape`` command; returns the exit status."""
    use_cpu_cores()
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            from landscape import experiments_registry

            for name, module in experiments_registry.all_experiments().items():
                print(f"{name:22s} {module.DESCRIPTION}")
        elif args.command == "run":
            _run(args.name, args)
        elif args.command == "explore":
            run_dir = _run("explore", args)
            summary = run_dir / "summary.txt"
            if summary.exists():
                print(summary.read_text())
        elif args.command == "plot":
            from landscape import plots

            for path in plots.plot_run(args.run_dir):
                print(f"figure: {path}")
    except (ValueError, FileNotFoundError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
