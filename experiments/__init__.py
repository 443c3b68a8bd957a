"""Experiments: one module per study, each a thin composition of the library.

Installed as ``landscape.experiments`` (pyproject.toml maps this folder there),
so import a study as ``from landscape.experiments import sat_unsat``; an
install adds no top-level ``experiments`` package to collide with a user's.
Only the command line (`landscape.cli`) finds and imports them; the library
never does.

Each module defines ``NAME``, ``DESCRIPTION``, a frozen ``Config`` dataclass
with ``quick()`` and ``default()``, ``run(config, run_dir)`` and
``plot(run_dir)``; ``landscape list`` shows them. ``bench_*.py`` are benchmark
scripts and ``panel_*.py`` panels of ``landscape explore``.
"""
