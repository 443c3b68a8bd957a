"""Run every experiment's quick config on a source tree and compare results.jsonl rows.

    python .ci/compare_quick_rows.py run TREE OUT      # TREE's experiments -> OUT/NAME/
    python .ci/compare_quick_rows.py compare OLD NEW   # rows equal up to timing fields

A maintenance check for refactors: nothing measured may change. Timing fields
(keys containing "seconds", "time" or "wall") are ignored; everything else must
be equal (floats exactly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TIMING = ("seconds", "time", "wall")

# In a tree whose studies install as landscape.experiments from its experiments/ folder,
# load them from TREE (not from whatever checkout an editable install points at).
PRELUDE = (
    "import importlib.util, pathlib, sys\n"
    "root = pathlib.Path.cwd()\n"
    "if (root / 'experiments').is_dir() and not (root / 'landscape' / 'experiments').exists():\n"
    "    import landscape\n"
    "    spec = importlib.util.spec_from_file_location('landscape.experiments',\n"
    "        root / 'experiments' / '__init__.py',\n"
    "        submodule_search_locations=[str(root / 'experiments')])\n"
    "    module = importlib.util.module_from_spec(spec)\n"
    "    sys.modules['landscape.experiments'] = module\n"
    "    spec.loader.exec_module(module)\n"
    "    landscape.experiments = module\n"
)


def _names(tree: Path) -> list[str]:
    code = PRELUDE + (
        "from landscape import cli\n"
        "reg = getattr(cli, 'all_experiments', None)\n"
        "if reg is None:\n"
        "    from landscape import experiments_registry as r; reg = r.all_experiments\n"
        "print(' '.join(reg()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def run(tree: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in _names(tree):
        target = out / name
        if (target / "results.jsonl").exists():
            print(f"{name}: done", flush=True)
            continue
        print(f"{name}: running", flush=True)
        done = subprocess.run(
            [sys.executable, "-c", PRELUDE + "from landscape.cli import main; sys.exit(main())",
             "run", name, "--quick", "--out", str(target)],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"},
        )
        if done.returncode != 0:
            print(f"{name}: FAILED (exit status {done.returncode})", flush=True)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not any(t in k for t in TIMING)}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def compare(old: Path, new: Path) -> int:
    bad = 0
    for directory in sorted(p for p in old.iterdir() if p.is_dir()):
        other = new / directory.name
        rows_old = [_strip(json.loads(x)) for x in (directory / "results.jsonl").read_text().splitlines()]
        if not (other / "results.jsonl").exists():
            print(f"{directory.name}: missing in {new}")
            bad += 1
            continue
        rows_new = [_strip(json.loads(x)) for x in (other / "results.jsonl").read_text().splitlines()]
        same = rows_old == rows_new
        print(f"{directory.name}: {len(rows_old)} rows, {'identical' if same else 'DIFFERENT'}")
        if not same:
            bad += 1
            for a, b in zip(rows_old, rows_new):
                for k in sorted(set(a) | set(b)):
                    if a.get(k) != b.get(k):
                        print(f"   {k}: {str(a.get(k))[:80]} != {str(b.get(k))[:80]}")
    return 1 if bad else 0


if __name__ == "__main__":
    verb, first, second = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()
    if verb == "run":
        run(first, second)
    else:
        sys.exit(compare(first, second))
