"""Finds the experiment modules under ``experiments/`` (modules that define ``NAME``).

An experiment module defines ``NAME`` (dashes), ``DESCRIPTION`` (one line), a
frozen dataclass ``Config`` with ``quick()`` and ``default()``,
``run(config, run_dir)`` (resumable) and ``plot(run_dir) -> list[Path]``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import types
import typing
from typing import Any


def all_experiments() -> dict[str, types.ModuleType]:
    """NAME -> module for every experiment module, sorted by name."""
    import experiments

    found = {}
    for info in pkgutil.iter_modules(experiments.__path__):
        if info.name.startswith(("bench_", "panel_", "_")):
            continue
        module = importlib.import_module(f"experiments.{info.name}")
        if hasattr(module, "NAME"):
            found[module.NAME] = module
    return dict(sorted(found.items()))


def get(name: str) -> types.ModuleType:
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
            raise ValueError(f"--set {field}={json.dumps(value)}: expected a list like [1, 2]")
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
    ``alphas=[0.5,1.0]`` is a list and ``n=10`` an int); unknown fields and
    ill-typed values raise ValueError.
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
