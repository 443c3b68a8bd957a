"""Run every ``experiments/bench_*.py`` and collect their figures into one table.

    python experiments/bench_all.py [--quick] [--out bench.json] [--markdown bench.md]

``make bench`` runs it with ``--quick`` (about 10 minutes on 2 CPU cores). Each
script runs in its own process (its own XLA flags) with ``--quick`` when asked,
and ``--gpu`` instead on an accelerator for the scripts that have a GPU-sized
configuration; every figure it records (`experiments._bench.record`) lands in
``bench.json`` (a list of rows: benchmark, figure, value, baseline, sizes,
device kind and count, JAX version) and in a Markdown table. A script that
fails is reported in the table and makes the command exit with status 1 after
the others have run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = sorted(p.stem for p in HERE.glob("bench_*.py") if p.stem != "bench_all")


def _accelerator() -> bool:
    code = "import jax; print(jax.default_backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return out.stdout.strip() not in ("", "cpu")


def _flags(script: str, quick: bool, gpu: bool) -> list[str]:
    text = (HERE / f"{script}.py").read_text()
    if gpu and '"--gpu"' in text:
        return ["--gpu"]
    return ["--quick"] if quick and '"--quick"' in text else []


def markdown(rows: list[dict], failures: dict[str, str]) -> str:
    """The figures as a Markdown table (one line per figure), failures listed after it."""
    lines = [
        "| benchmark | figure | value | against | sizes | device | jax |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sizes = ", ".join(f"{k}={v}" for k, v in r["sizes"].items())
        lines.append(
            f"| {r['bench']} | {r['figure']} | {r['value']:.4g} | {r['baseline']} | {sizes} "
            f"| {r['devices']} x {r['device']} | {r['jax']} |"
        )
    for script, why in failures.items():
        lines.append(f"\n**{script} failed**: {why}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each script's quick mode")
    parser.add_argument("--out", type=Path, default=Path("bench.json"))
    parser.add_argument("--markdown", type=Path, default=Path("bench.md"))
    parser.add_argument("--only", default="", help="comma-separated script names")
    args = parser.parse_args(argv)
    scripts = [s for s in SCRIPTS if not args.only or s in args.only.split(",")]
    gpu = _accelerator()
    rows, failures = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        sink = Path(tmp) / "figures.jsonl"
        env = {**os.environ, "LANDSCAPE_BENCH_JSON": str(sink)}
        for script in scripts:
            cmd = [sys.executable, str(HERE / f"{script}.py"), *_flags(script, args.quick, gpu)]
            print(f"== {' '.join(cmd[1:])}", flush=True)
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env)
            print(f"== {script}: {time.perf_counter() - start:.0f} s", flush=True)
            if done.returncode != 0:
                failures[script] = f"exit status {done.returncode}"
        if sink.exists():
            rows = [json.loads(line) for line in sink.read_text().splitlines() if line]
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    table = markdown(rows, failures)
    args.markdown.write_text(table)
    print(table)
    print(f"wrote {args.out} and {args.markdown}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
