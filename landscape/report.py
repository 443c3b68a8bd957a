"""One self-contained HTML page per run directory, and an index of a directory of runs.

``landscape report RUN_DIR`` (and the end of every ``landscape run`` and
``landscape explore``) calls `write`, which renders ``RUN_DIR/report.html``:
the experiment's name, description and docstring; the command line that
reproduces the run; the full config as a table (fields that differ from the
experiment's default marked); package versions and devices; the results as a
table (a key ``x`` with ``x_stderr`` beside it, or ``x_mean`` with
``x_stderr``, shown as ``x ± stderr``; lists longer than eight entries folded
into ``<details>``); every figure (``*.png`` anywhere in the run directory)
inlined as base64 with its caption; theory values found in the run; wall time
per point; the starts and resumes of the run (``events.jsonl``) and which rows
each computed; nested runs (a run directory inside the run, like explore's
``perceptron-scan``); and the files on disk. The page needs no network and
no JavaScript. `write_index` renders ``index.html`` for a directory of runs.

The library knows no experiment: the caller (the ``landscape`` command) passes
the experiment's module and helper modules whose docstrings describe figures.
From them the report reads, where present:

- ``NAME``, ``DESCRIPTION``, the module docstring, ``Config`` with
  ``default()`` and ``quick()`` (for the reproducing command);
- ``CAPTIONS = {"file.png": "caption"}``; otherwise a caption is taken from a
  docstring that says ``file.png``: caption. (or ``file.png`` (caption)),
  otherwise derived from the file name;
- ``theory_values(run_dir) -> dict`` of theory values drawn in the figures.

Theory values are otherwise found by name only: row keys and config fields
whose names contain a word like ``theory``, ``capacity``, ``alpha_c``,
``rs`` or ``gardner``. A value computed inside a plotting function and drawn
as a line (Gardner's capacity in perceptron-scan, say) is not stored in the
run, so it is only in the figure; the report says so rather than guess.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import inspect
import json
import math
import os
import re
import shlex
import types
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from landscape import runs

REPORT = "report.html"
INDEX = "index.html"
FOLD = 8  # lists longer than this are folded into <details>
MAX_SHOWN = 2000  # values of one folded list written into the page
THEORY_KEY = re.compile(
    r"(?:^|_)(theory|theoretical|capacity|alpha_c|kappa_c|rs|rsb|1rsb|gardner|predicted|"
    r"prediction|analytic|annealed)(?:_|$)"
)


# --------------------------------------------------------------------------------------------
# reading a run


@dataclasses.dataclass
class Run:
    """What a run directory holds, read once: the config record, rows, events, figures."""

    path: Path
    record: dict
    rows: list[dict]
    unread_lines: int  # lines of results.jsonl after the last complete row (a torn line)
    events: list[dict]
    figures: list[Path]
    children: list[Run]


def is_run(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a run directory (holds ``config.json``)."""
    return (Path(path) / runs.CONFIG).is_file()


def read_run(run_dir: str | os.PathLike, *, nested: bool = True) -> Run:
    """Read a run directory; ValueError when it is not one or its config is unreadable."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ValueError(f"run_dir={str(path)!r} does not exist; expected a run directory")
    record = runs.read_config(path)
    if not isinstance(record, dict) or not isinstance(record.get("config", {}), dict):
        raise ValueError(f"run_dir={str(path)!r}: {runs.CONFIG} is not a run record")
    rows, unread = _read_results(path)
    figures = sorted(
        (p for p in path.rglob("*.png") if not any(s.startswith(".") for s in p.parts)),
        key=lambda p: (len(p.relative_to(path).parts), str(p.relative_to(path))),
    )
    children = []
    if nested:
        for config in sorted(path.rglob(runs.CONFIG)):
            if config.parent != path:
                try:
                    children.append(read_run(config.parent, nested=False))
                except ValueError:
                    continue
    return Run(path, record, rows, unread, runs.read_events(path), figures, children)


def _read_results(path: Path) -> tuple[list[dict], int]:
    """Complete rows (`runs.read_rows`, as a resume reads them) and the lines after them."""
    file = path / runs.RESULTS
    if not file.exists():
        return [], 0
    rows = runs.read_rows(path)
    lines = [line for line in file.read_text().splitlines() if line.strip()]
    return [r if isinstance(r, dict) else {"value": r} for r in rows], len(lines) - len(rows)


# --------------------------------------------------------------------------------------------
# what the modules tell


def _attr(modules: Sequence[types.ModuleType], name: str, default: Any = None) -> Any:
    return getattr(modules[0], name, default) if modules else default


def captions(modules: Sequence[types.ModuleType], names: Iterable[str]) -> dict[str, str]:
    """A caption for every figure file name: ``CAPTIONS``, else a docstring, else the name."""
    explicit: dict[str, str] = {}
    docs: list[str] = []
    for module in modules:
        explicit = {**getattr(module, "CAPTIONS", {}), **explicit}
        docs.append(module.__doc__ or "")
        for fn in ("plot", "explore_panel"):
            docs.append(getattr(getattr(module, fn, None), "__doc__", None) or "")
    text = "\n".join(" ".join(d.split()) for d in docs)
    out = {}
    for name in names:
        if name in explicit:
            out[name] = explicit[name]
            continue
        quoted = re.escape(f"``{name}``")
        found = re.search(quoted + r"\s*:\s*(.+?)(?:\.(?:\s|$)|``[^`]+\.png``|$)", text)
        found = found or re.search(quoted + r"\s*\(([^)]+)\)", text)
        if found:
            out[name] = found.group(1).strip().rstrip(",;")
        else:
            stem = Path(name).stem.replace("_", " ").replace("-", " ")
            out[name] = stem[:1].upper() + stem[1:]
    return out


def reproduce_command(record: dict, module: types.ModuleType | None = None) -> tuple[str, list]:
    """The ``landscape`` command that reruns this config, and notes on what it cannot carry.

    The command is ``landscape run NAME`` (``landscape explore`` for explore),
    ``--quick`` where the quick config is the closer base, and one ``--set``
    per field that differs from the base, each quoted for a POSIX shell.
    Without the module every field is set.
    """
    name = str(record.get("experiment", "?"))
    config = record.get("config") or {}
    words = ["landscape", "explore"] if name == "explore" else ["landscape", "run", name]
    notes = []
    base: dict = {}
    config_cls = getattr(module, "Config", None)
    if config_cls is not None and dataclasses.is_dataclass(config_cls):
        bases = []
        for flag, factory in (([], "default"), (["--quick"], "quick")):
            try:
                bases.append((flag, runs._jsonable(getattr(config_cls, factory)())))
            except Exception:  # noqa: BLE001, S112 - a broken factory: use the other one
                continue
        if bases:
            flag, base = min(bases, key=lambda fb: len(_differences(config, fb[1])))
            words += flag
        fields = {f.name for f in dataclasses.fields(config_cls)}
        stale = [k for k in config if k not in fields]
        if stale:
            notes.append(
                f"not fields of the current {name} Config (left out of the command): "
                + ", ".join(stale)
            )
        new = [k for k in fields if k not in config]
        if new:
            notes.append(
                "fields added since this run (the command takes their current values): "
                + ", ".join(new)
            )
        config = {k: v for k, v in config.items() if k in fields}
    elif module is None:
        notes.append(f"experiment {name!r} is not known here; every stored field is set")
    for field in _differences(config, base):
        words += ["--set", f"{field}={_cli_value(config[field])}"]
    return " ".join(shlex.quote(w) for w in words), notes


def _differences(config: dict, base: dict) -> list[str]:
    return [k for k, v in config.items() if k not in base or base[k] != v]


def _cli_value(value: Any) -> str:
    """The text after ``field=`` that the command turns back into ``value``."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value  # a plain word: passed through as a string
        return json.dumps(value)  # "1", "true", "[..]": quoted so it stays a string
    return json.dumps(value, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# rows: columns, pairs, sessions, headlines


def _columns(rows: list[dict], first: Sequence[str] = ()) -> list[tuple[str, str | None]]:
    """Ordered ``(key, stderr_key or None)`` columns over all rows; coordinates first."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    stderr_of: dict[str, str] = {}
    for k in keys:
        if k.endswith("_stderr"):
            base = k[: -len("_stderr")]
            for candidate in (base, f"{base}_mean"):
                if candidate in keys and candidate not in stderr_of:
                    stderr_of[candidate] = k
                    break
    paired = set(stderr_of.values())
    skip = {"point_index", "seconds", *paired}
    ordered = [k for k in first if k in keys] + [k for k in keys if k not in first]
    return [(k, stderr_of.get(k)) for k in ordered if k not in skip]


def _coordinates(events: list[dict]) -> list[str]:
    for event in reversed(events):
        if event.get("coordinates"):
            return list(event["coordinates"])
    return []


def sessions(events: list[dict]) -> list[dict]:
    """Group events into sessions (one process each): a start, a resume, or a scan call.

    A ``"scan"`` event joins the session of the event before it when both come
    from the same process; any other event, or one from a new process, begins
    a session. Each session: ``{"time", "rows", "events"}``, ``rows`` the rows
    already written when it began.
    """
    out: list[dict] = []
    for event in events:
        if (
            out
            and event.get("event") == "scan"
            and event.get("pid") == out[-1]["events"][-1].get("pid")
        ):
            out[-1]["events"].append(event)
            continue
        out.append(
            {"time": event.get("time", "?"), "rows": event.get("rows", 0), "events": [event]}
        )
    return out


def _session_of_rows(n_rows: int, groups: list[dict]) -> list[int | None]:
    """For row j of the file, the index of the session that wrote it (None: unknown)."""
    out: list[int | None] = []
    for j in range(n_rows):
        index = None
        for s, group in enumerate(groups):
            if group["rows"] <= j:
                index = s
        out.append(index)
    return out


def _session_label(index: int | None, groups: list[dict]) -> str:
    if index is None:
        return "before events were recorded"
    number = index if groups[0]["rows"] == 0 else index + 1  # rows before: an unrecorded run
    return "first run" if number == 0 else f"resume {number} ({groups[index]['time']})"


def headline(row: dict, first: Sequence[str] = (), limit: int = 6, skip: Iterable[str] = ()) -> str:
    """A row in one line: coordinates, then scalar fields as ``x=m ± s``, at most ``limit``.

    Keys in ``skip`` are left out (e.g. fields equal in every row, see `constant_keys`).
    """
    parts = []
    skip = set(skip) - set(first)
    for key, stderr in _columns([row], first):
        value = row[key]
        if key in skip:
            continue
        if isinstance(value, (list, dict)):
            continue
        if isinstance(value, str):
            line = value.splitlines()[0] if value else ""
            value = line if len(line) <= 60 else line[:57] + "..."
            parts.append(f"{key}={value}")
        else:
            text = f"{key}={_number(value)}"
            if stderr is not None:
                text += f" ± {_number(row.get(stderr))}"
            parts.append(text)
        if len(parts) == limit:
            break
    return ", ".join(parts)


def constant_keys(rows: list[dict]) -> set[str]:
    """Keys with the same value in every row (none for fewer than two rows)."""
    if len(rows) < 2:
        return set()
    return {k for k in rows[0] if all(k in r and r[k] == rows[0][k] for r in rows[1:])}


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# HTML pieces


CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2430; max-width: 1180px; margin: 0 auto; padding: 1.2em 1.6em 4em; }
h1 { font-size: 1.7em; margin: .2em 0 .1em; } h2 { font-size: 1.25em; margin-top: 2em;
     border-bottom: 2px solid #d7dde8; padding-bottom: .2em; } h3 { font-size: 1.05em; }
.lead { font-size: 1.1em; color: #3b4658; margin: .2em 0 .8em; }
.meta { color: #5b6678; } nav { margin: 1em 0; font-size: .92em; }
nav a { margin-right: .9em; } a { color: #1f5fb8; }
pre, code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.cmd { background: #f3f5f9; border: 1px solid #d7dde8; padding: .6em .8em;
          white-space: pre-wrap; word-break: break-all; }
.doc { white-space: pre-wrap; background: #fafbfd; border-left: 3px solid #d7dde8;
       padding: .5em .9em; font-size: .93em; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border: 1px solid #d7dde8; padding: .25em .55em; text-align: left;
         vertical-align: top; font-size: .9em; }
th { background: #eef1f6; } tr:nth-child(even) td { background: #fafbfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { white-space: pre-wrap; max-width: 42em; } .se { color: #5b6678; font-weight: normal; }
.changed { background: #fff4cc !important; } .note { color: #6b4e00; background: #fff8e1;
       border: 1px solid #f0d890; padding: .4em .7em; margin: .6em 0; }
.empty { color: #8a1f11; background: #fdecea; border: 1px solid #f3b8b0; padding: .5em .8em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #e3e7ee; }
figcaption { color: #3b4658; font-size: .93em; margin-top: .3em; }
details summary { cursor: pointer; color: #1f5fb8; } details pre { max-height: 24em;
       overflow: auto; white-space: pre-wrap; }
.bar { display: inline-block; height: .7em; background: #7aa6e0; vertical-align: middle; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _doc_html(text: str) -> str:
    """A docstring as escaped text with ``code`` and `names` in <code>."""
    out = _e(_dedent(text))
    out = re.sub(r"``(.+?)``", r"<code>\1</code>", out)
    return re.sub(r"`([^`\n]+?)`", r"<code>\1</code>", out)


def _dedent(text: str) -> str:
    return inspect.cleandoc(text)


def _table(header: Sequence[str], body: Iterable[Sequence[str]], raw_header: bool = False) -> str:
    """An HTML table; cells are already HTML (``<td>`` included), header cells are text."""
    head = "".join(f"<th>{h if raw_header else _e(h)}</th>" for h in header)
    rows = "".join(f"<tr>{''.join(cells)}</tr>" for cells in body)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _td(value: Any, stderr: Any = None, paired: bool = False, extra: str = "") -> str:
    """One cell: a number (with ± stderr), text, a short list, or a folded long list."""
    cls = extra
    if isinstance(value, list):
        inner = _list_html(value)
    elif isinstance(value, dict):
        inner = "<br>".join(f"{_e(k)}: {_value_text(v)}" for k, v in value.items())
    elif isinstance(value, str):
        inner, cls = _e(value), f"{cls} text"
    else:
        inner = _e(_number(value))
        if paired:
            inner += f' <span class="se">± {_e(_number(stderr))}</span>'
        cls = f"{cls} num"
        if isinstance(value, float):
            return f'<td class="{cls.strip()}" title="{_e(repr(value))}">{inner}</td>'
    return f'<td class="{cls.strip()}">{inner}</td>'


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return _list_html(value)
    return _e(_number(value) if not isinstance(value, str) else value)


def _flat(value: Any) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


def _shape(value: Any) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def _list_html(value: list) -> str:
    """``[0.5, 1, 2]`` for a short flat list; a folded block for anything longer."""
    flat = _flat(value)
    if len(value) <= FOLD and len(flat) <= FOLD:
        return _e(_list_text(value))
    shape = " × ".join(map(str, _shape(value)))
    numbers = [v for v in flat if isinstance(v, (int, float)) and not isinstance(v, bool)]
    span = f", {_number(min(numbers))} … {_number(max(numbers))}" if numbers else ""
    if len(flat) > MAX_SHOWN:
        body = _list_text(flat[:MAX_SHOWN]) + f"\n… {len(flat) - MAX_SHOWN} more in results.jsonl"
    else:
        body = _list_text(value)
    return f"<details><summary>{shape} values{_e(span)}</summary><pre>{_e(body)}</pre></details>"


def _list_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_list_text(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return _number(value)


def _rows_table(rows: list[dict], first: Sequence[str], session_labels: list[str] | None) -> str:
    columns = _columns(rows, first)
    header = ["point_index" if any("point_index" in r for r in rows) else "#"]
    for key, stderr in columns:
        label = _e(key)
        if stderr is not None:
            label += f'<br><span class="se">± {_e(stderr)}</span>'
        header.append(label)
    body = []
    for j, row in enumerate(rows):
        index = row.get("point_index", j)
        cells = [f'<td class="num">{_e(index)}</td>']
        for key, stderr in columns:
            if key not in row:
                cells.append("<td></td>")
            else:
                extra = "coord" if key in first else ""
                cells.append(_td(row[key], row.get(stderr), stderr is not None, extra))
        body.append(cells)
    note = ""
    if session_labels and any(label.startswith("resume") for label in session_labels):
        note = '<p class="meta">Which session wrote each row: see Wall time.</p>'
    return _table(header, body, raw_header=True) + note


def _config_table(config: dict, base: dict | None, quick: dict | None) -> str:
    header = ["field", "value"]
    if base is not None:
        header.append("default")
    if quick is not None:
        header.append("quick")
    body = []
    for field, value in config.items():
        changed = base is not None and (field not in base or base[field] != value)
        cls = "changed" if changed else ""
        cells = [f'<td class="{cls}"><code>{_e(field)}</code></td>', _td(value, extra=cls)]
        if base is not None:
            cells.append(_td(base.get(field, "—")))
        if quick is not None:
            cells.append(_td(quick.get(field, "—")))
        body.append(cells)
    legend = (
        '<p class="meta">Highlighted: fields that differ from <code>Config.default()</code>.</p>'
        if base is not None
        else ""
    )
    return _table(header, body) + legend


def _base_configs(module: types.ModuleType | None) -> tuple[dict | None, dict | None]:
    out = []
    for factory in ("default", "quick"):
        try:
            out.append(runs._jsonable(getattr(module.Config, factory)()))
        except Exception:  # noqa: BLE001 - no module, no Config, or a factory that fails
            out.append(None)
    return out[0], out[1]


def _theory(run: Run, modules: Sequence[types.ModuleType], first: Sequence[str]) -> str:
    found = []
    for key, value in (run.record.get("config") or {}).items():
        if THEORY_KEY.search(key):
            found.append(("config", key, value))
    for j, row in enumerate(run.rows):
        where = f"row {row.get('point_index', j)}"
        if first:
            where += f" ({_coordinates_text(row, first)})"
        for key, value in row.items():
            if THEORY_KEY.search(key) and not key.endswith("_stderr"):
                found.append((where, key, value))
    hook = _attr(modules, "theory_values")
    hook_error = ""
    if callable(hook):
        try:
            for key, value in dict(hook(run.path)).items():
                found.append(("the experiment's theory_values()", key, value))
        except Exception as exc:  # noqa: BLE001 - the report still renders
            hook_error = f"<p class='note'>theory_values() failed: {_e(exc)}</p>"
    honest = (
        "<p class='meta'>Found by name (row keys and config fields containing "
        "<code>theory</code>, <code>capacity</code>, <code>alpha_c</code>, <code>rs</code>, "
        "<code>gardner</code>, …) and from an experiment's <code>theory_values()</code>. "
        "A theory line computed inside a plotting function is not stored in the run and "
        "appears only in its figure (see the legends).</p>"
    )
    if not found:
        return hook_error + "<p>No theory values are stored in this run.</p>" + honest
    body = [[f"<td>{_e(w)}</td>", f"<td><code>{_e(k)}</code></td>", _td(v)] for w, k, v in found]
    return hook_error + _table(["where", "key", "value"], body) + honest


def _timing(rows: list[dict], first: Sequence[str], labels: list[str] | None) -> str:
    timed = [(j, r) for j, r in enumerate(rows) if isinstance(r.get("seconds"), (int, float))]
    if not timed:
        return "<p>No row records its wall time (<code>seconds</code>).</p>"
    longest = max(r["seconds"] for _, r in timed) or 1.0
    body = []
    for j, row in timed:
        what = _coordinates_text(row, first) if first else _label_of(row, j)
        width = max(1, round(160 * row["seconds"] / longest))
        cells = [
            f'<td class="num">{_e(row.get("point_index", j))}</td>',
            f"<td>{_e(what)}</td>",
            f'<td class="num">{_e(runs.duration(row["seconds"]))}</td>',
            f'<td><span class="bar" style="width:{width}px"></span></td>',
        ]
        if labels is not None:
            cells.append(f"<td>{_e(labels[j])}</td>")
        body.append(cells)
    header = ["#", "point", "seconds", ""] + (["session"] if labels is not None else [])
    total = sum(r["seconds"] for _, r in timed)
    summary = (
        f"<p>Total {_e(runs.duration(total))} over {len(timed)} rows, "
        f"mean {_e(runs.duration(total / len(timed)))} per row "
        "(compilation included in the first rows of each session).</p>"
    )
    return summary + _table(header, body)


def _coordinates_text(row: dict, first: Sequence[str]) -> str:
    return ", ".join(f"{k}={_number(row[k])}" for k in first if k in row)


def _label_of(row: dict, j: int) -> str:
    for key in ("panel", "name", "label", "curve"):
        if isinstance(row.get(key), str):
            return row[key]
    return headline(row, limit=3) or f"row {j}"


def _sessions_html(run: Run) -> tuple[str, list[str] | None]:
    if not run.events:
        return (
            "<p>No <code>events.jsonl</code>: this run was written before starts and resumes "
            "were recorded, so whether it was resumed is not known.</p>",
            None,
        )
    groups = sessions(run.events)
    of_row = _session_of_rows(len(run.rows), groups)
    labels = [_session_label(s, groups) for s in of_row]
    body = []
    for s, group in enumerate(groups):
        written = [run.rows[j].get("point_index", j) for j, x in enumerate(of_row) if x == s]
        kinds = ", ".join(dict.fromkeys(str(e.get("event")) for e in group["events"]))
        todo = [e.get("todo") for e in group["events"] if e.get("todo") is not None]
        command = next((e.get("command") for e in group["events"] if e.get("command")), None)
        body.append(
            [
                f"<td>{_e(_session_label(s, groups))}</td>",
                f"<td>{_e(group['time'])}</td>",
                f"<td>{_e(kinds)}</td>",
                f'<td class="num">{_e(group["rows"])}</td>',
                _td(todo[0] if todo else "—"),
                _td(written),
                f"<td><code>{_e(' '.join(command) if command else '')}</code></td>",
            ]
        )
    resumes = len(groups) - (1 if groups[0]["rows"] == 0 else 0)
    if resumes == 0:
        lead = "<p>Not resumed: every row was computed in one session.</p>"
    else:
        carried = groups[-resumes]["rows"]
        lead = (
            f"<p><b>Resumed {resumes} time{'s' if resumes != 1 else ''}.</b> "
            f"{carried} row{'s were' if carried != 1 else ' was'} on disk at the first resume; "
            "the rows each session computed are listed below (by point index).</p>"
        )
    header = ["session", "began", "events", "rows already there", "points to do", "rows written"]
    return lead + _table([*header, "command"], body), labels


def _figures_html(run: Run, modules: Sequence[types.ModuleType]) -> str:
    if not run.figures:
        return (
            "<p>No figures in the run directory yet; draw them with "
            f"<code>landscape plot {_e(run.path)}</code>.</p>"
        )
    names = [p.name for p in run.figures]
    text = captions(modules, names)
    out = []
    for path in run.figures:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        rel = path.relative_to(run.path).as_posix()
        caption = text[path.name]
        out.append(
            f'<figure id="fig-{_e(rel)}"><img alt="{_e(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption><b>{_e(rel)}</b> — '
            f"{_e(caption)}</figcaption></figure>"
        )
    return "".join(out)


def _environment(record: dict) -> str:
    versions = record.get("versions") or {}
    body = [[f"<td>{_e(k)}</td>", f"<td>{_e(v)}</td>"] for k, v in versions.items()]
    devices = record.get("devices") or []
    return (
        _table(["package", "version"], body)
        + f"<p><b>Devices</b> ({len(devices)}): "
        + (_list_html(devices) if devices else "not recorded")
        + "</p>"
    )


def _files(run: Run) -> str:
    body = []
    for path in sorted(run.path.rglob("*")):
        rel = path.relative_to(run.path)
        if path.is_dir() or any(s.startswith(".") for s in rel.parts) or rel.name == REPORT:
            continue
        body.append(
            [f"<td><code>{_e(rel.as_posix())}</code></td>", f'<td class="num">{_size(path)}</td>']
        )
    table = _table(["file", "size"], body)
    if len(body) > 3 * FOLD:
        return f"<details><summary>{len(body)} files</summary>{table}</details>"
    return table


def _size(path: Path) -> str:
    size = path.stat().st_size
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _status(run: Run) -> str:
    points = next((e.get("points") for e in reversed(run.events) if e.get("points")), None)
    n = len(run.rows)
    if points:
        indices = {r.get("point_index") for r in run.rows}
        have = sum(1 for i in range(points) if i in indices)
        state = "complete" if have == points else "incomplete"
        return f"{state}: {have} of {points} points"
    return f"{n} row{'s' if n != 1 else ''}"


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n{body}\n"
        f"<p class='meta'>Written by <code>landscape report</code> on "
        f"{_e(datetime.datetime.now().isoformat(timespec='seconds'))}.</p></body></html>\n"
    )


# --------------------------------------------------------------------------------------------
# the report


def render(
    run_dir: str | os.PathLike,
    modules: Sequence[types.ModuleType] = (),
    resolve: Callable[[str], Sequence[types.ModuleType]] | None = None,
) -> str:
    """The HTML of a run's report (see the module docstring for its sections).

    ``modules``: the experiment's module first, then helper modules whose
    ``CAPTIONS`` or docstrings describe figures; ``resolve(name)`` gives the
    modules of a nested run's experiment. ValueError when ``run_dir`` is not a
    run directory or its ``config.json`` is unreadable.
    """
    run = read_run(run_dir)
    module = modules[0] if modules else None
    record = run.record
    name = str(record.get("experiment", "?"))
    config = record.get("config") or {}
    description = _attr(modules, "DESCRIPTION", "")
    command, notes = reproduce_command(record, module)
    first = _coordinates(run.events)
    sessions_block, labels = _sessions_html(run)
    base, quick = _base_configs(module)

    parts = [f"<h1>{_e(name)}</h1>"]
    if description:
        parts.append(f'<p class="lead">{_e(description)}</p>')
    parts.append(
        f'<p class="meta">Run directory <code>{_e(run.path)}</code> · created '
        f"{_e(record.get('created', 'unknown'))} · {_e(_status(run))}</p>"
    )
    sections = [
        ("reproduce", "Reproduce"),
        ("config", "Config"),
        ("results", "Results"),
        ("figures", "Figures"),
        ("theory", "Theory values"),
        ("timing", "Wall time"),
        ("sessions", "Starts and resumes"),
    ]
    if run.children:
        sections.append(("nested", "Nested runs"))
    sections += [("environment", "Versions and devices"), ("files", "Files"), ("about", "About")]
    parts.append(
        "<nav>" + "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title in sections) + "</nav>"
    )

    rerun = [
        command,
        f"landscape run {shlex.quote(name)} --resume {shlex.quote(str(run.path))}"
        if name != "explore"
        else f"landscape explore --resume {shlex.quote(str(run.path))}",
        f"landscape report {shlex.quote(str(run.path))}",
    ]
    block = (
        "<p>Rerun this config into a new run directory:</p>"
        f'<pre class="cmd">{_e(rerun[0])}</pre>'
        "<p>Continue this run (points already written are skipped), and rewrite this page:</p>"
        f'<pre class="cmd">{_e(rerun[1])}\n{_e(rerun[2])}</pre>'
    )
    block += "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    parts.append(_section("reproduce", "Reproduce", block))
    parts.append(_section("config", "Config", _config_table(config, base, quick)))

    if run.rows:
        results = _rows_table(run.rows, first, labels)
        results = (
            f"<p>{len(run.rows)} row{'s' if len(run.rows) != 1 else ''} from "
            f"<code>{runs.RESULTS}</code>; a value <code>x</code> beside "
            "<code>x_stderr</code> is shown as mean ± standard error.</p>" + results
        )
    else:
        results = (
            '<p class="empty">No rows yet: <code>results.jsonl</code> is '
            f"{'empty' if (run.path / runs.RESULTS).exists() else 'missing'}. The run has not "
            "finished a point; its config is above.</p>"
        )
    if run.unread_lines:
        results += (
            f'<p class="note">{run.unread_lines} line{"s" if run.unread_lines != 1 else ""} of '
            f"<code>{runs.RESULTS}</code> after the last complete row could not be read (a torn "
            "line from a killed process) and are not shown; a resume drops them the same way.</p>"
        )
    parts.append(_section("results", "Results", results))
    parts.append(_section("figures", "Figures", _figures_html(run, modules)))
    parts.append(_section("theory", "Theory values", _theory(run, modules, first)))
    parts.append(_section("timing", "Wall time", _timing(run.rows, first, labels)))
    parts.append(_section("sessions", "Starts and resumes", sessions_block))
    if run.children:
        parts.append(_section("nested", "Nested runs", _nested(run, resolve)))
    parts.append(_section("environment", "Versions and devices", _environment(record)))
    parts.append(_section("files", "Files", _files(run)))
    about = ""
    if module is not None and module.__doc__:
        about += f'<div class="doc">{_doc_html(module.__doc__)}</div>'
    config_doc = getattr(getattr(module, "Config", None), "__doc__", None)
    if config_doc:
        about += f'<h3>Config</h3><div class="doc">{_doc_html(config_doc)}</div>'
    parts.append(
        _section("about", "About", about or "<p>The experiment's module is not known here.</p>")
    )
    return _page(f"{name} — {run.path.name}", "\n".join(parts))


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _nested(run: Run, resolve: Callable[[str], Sequence[types.ModuleType]] | None) -> str:
    out = []
    for child in run.children:
        name = str(child.record.get("experiment", "?"))
        modules = list(resolve(name)) if resolve else []
        base, quick = _base_configs(modules[0] if modules else None)
        first = _coordinates(child.events)
        _, labels = _sessions_html(child)
        rel = child.path.relative_to(run.path).as_posix()
        body = [f"<h3><code>{_e(rel)}/</code> — {_e(name)} ({_e(_status(child))})</h3>"]
        config = _config_table(child.record.get("config") or {}, base, quick)
        body.append(f"<details><summary>config</summary>{config}</details>")
        body.append(_rows_table(child.rows, first, labels) if child.rows else "<p>No rows yet.</p>")
        body.append(
            f"<details><summary>wall time</summary>{_timing(child.rows, first, labels)}</details>"
        )
        out.append("".join(body))
    return "".join(out)


def write(
    run_dir: str | os.PathLike,
    modules: Sequence[types.ModuleType] = (),
    resolve: Callable[[str], Sequence[types.ModuleType]] | None = None,
) -> Path:
    """Render the report of ``run_dir`` and write it to ``run_dir/report.html`` atomically."""
    text = render(run_dir, modules, resolve)
    return runs.write_text(run_dir, REPORT, text)


# --------------------------------------------------------------------------------------------
# the index of a directory of runs


def write_index(
    runs_dir: str | os.PathLike,
    resolve: Callable[[str], Sequence[types.ModuleType]] | None = None,
) -> tuple[Path, int]:
    """Write every run's report and ``runs_dir/index.html`` linking them; returns (path, runs).

    A run whose report cannot be written is listed with the reason. ValueError
    when ``runs_dir`` holds no run directory.
    """
    path = Path(runs_dir)
    if not path.is_dir():
        raise ValueError(f"run_dir={str(path)!r} does not exist; expected a run directory")
    children = [p for p in sorted(path.iterdir()) if p.is_dir() and is_run(p)]
    if not children:
        raise ValueError(
            f"run_dir={str(path)!r} has no {runs.CONFIG} and no run directories inside; "
            "expected a run directory or a directory of runs"
        )
    entries = []
    for child in children:
        try:
            run = read_run(child, nested=False)
            name = str(run.record.get("experiment", "?"))
            modules = list(resolve(name)) if resolve else []
            write(child, modules, resolve)
            first = _coordinates(run.events)
            head = (
                headline(run.rows[-1], first, skip=constant_keys(run.rows))
                if run.rows
                else "no rows yet"
            )
            entries.append((run.record.get("created", ""), child, name, _status(run), head, ""))
        except (ValueError, OSError) as exc:
            entries.append(("", child, "?", "", "", str(exc).splitlines()[0]))
    entries.sort(key=lambda e: str(e[0]), reverse=True)
    body = []
    for created, child, name, status, head, error in entries:
        link = (
            f'<a href="{_e(child.name)}/{REPORT}">{_e(child.name)}</a>'
            if not error
            else _e(child.name)
        )
        body.append(
            [
                f"<td>{link}</td>",
                f"<td>{_e(name)}</td>",
                f"<td>{_e(created)}</td>",
                f"<td>{_e(status)}</td>",
                f"<td class='text'>{_e(error or head)}</td>",
            ]
        )
    table = _table(["run", "experiment", "date", "rows", "headline (last row)"], body)
    page = _page(
        f"runs in {path}",
        f"<h1>Runs in <code>{_e(path)}</code></h1><p class='meta'>{len(entries)} runs, "
        f"newest first.</p>{table}",
    )
    return runs.write_text(path, INDEX, page), len(entries)
