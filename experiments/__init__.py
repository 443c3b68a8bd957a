"""Experiments: one module per study, each a thin composition of the library.

Each module defines ``NAME``, ``DESCRIPTION``, a frozen ``Config`` dataclass
with ``quick()`` and ``default()``, ``run(config, run_dir)`` and
``plot(run_dir)``; ``landscape list`` shows them. ``bench_*.py`` are benchmark
scripts and ``panel_*.py`` panels of ``landscape explore``.
"""
