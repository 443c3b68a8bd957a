"""The `landscape` command: list, run with --set, and one-line errors with status 2."""

import dataclasses
import subprocess
import sys

import pytest

from experiments import perceptron_scan
from landscape import cli, experiments_registry, runs


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "perceptron-scan" in lines
    assert "explore" in lines
    assert perceptron_scan.DESCRIPTION in lines["perceptron-scan"]


def test_set_converts_types():
    base = perceptron_scan.Config.quick()
    assignments = experiments_registry.parse_assignments(
        ["alphas=[0.5,1]", "n=10", "lr=1", "loss=quadratic_hinge", "kappa=0.25"]
    )
    config = experiments_registry.config_from(perceptron_scan.Config, base, assignments)
    assert config.alphas == (0.5, 1.0)
    assert all(isinstance(a, float) for a in config.alphas)
    assert config.n == 10
    assert isinstance(config.lr, float)
    assert config.lr == 1.0
    assert config.loss == "quadratic_hinge"
    assert config.kappa == 0.25
    assert config == dataclasses.replace(
        base, alphas=(0.5, 1.0), n=10, lr=1.0, loss="quadratic_hinge", kappa=0.25
    )


def test_run_with_set_writes_typed_config(tmp_path, capsys, monkeypatch):
    seen = {}

    def fake_run(config, run_dir):
        seen["config"] = config
        runs.append_row(run_dir, {"point_index": 0})

    # the CLI's own work: parse, convert, create the run directory, call run and plot
    monkeypatch.setattr(perceptron_scan, "run", fake_run)
    monkeypatch.setattr(perceptron_scan, "plot", lambda run_dir: [run_dir / "f.png"])
    out = tmp_path / "run"
    argv = ["run", "perceptron-scan", "--quick", "--set", "alphas=[0.5,1.0]", "--set", "n=11"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert seen["config"] == dataclasses.replace(
        perceptron_scan.Config.quick(), alphas=(0.5, 1.0), n=11
    )
    record = runs.read_config(out)
    assert record["experiment"] == "perceptron-scan"
    assert record["config"]["alphas"] == [0.5, 1.0]
    assert record["config"]["n"] == 11
    text = capsys.readouterr().out
    assert f"run directory: {out}" in text
    assert "figure:" in text
    # --resume takes the stored config
    seen.clear()
    assert cli.main(["run", "perceptron-scan", "--resume", str(out)]) == 0
    assert seen["config"].alphas == (0.5, 1.0)
    assert seen["config"].n == 11


def _bad_inputs(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / runs.CONFIG).write_text("{oops")
    other = runs.create(tmp_path / "other", "explore", {})
    return [
        (["run", "no-such-experiment"], "unknown experiment"),
        (["run", "perceptron-scan", "--set", "nope=1"], "nope"),
        (["run", "perceptron-scan", "--set", "n=abc"], "n="),
        (["run", "perceptron-scan", "--set", "n=1.5"], "n=1.5"),
        (["run", "perceptron-scan", "--set", "alphas=0.5"], "alphas"),
        (["run", "perceptron-scan", "--set", "alphas=[-1]"], "alphas=[-1"),
        (["run", "perceptron-scan", "--set", "samples=0"], "samples=0"),
        (["run", "perceptron-scan", "--set", "loss=l1"], "loss='l1'"),
        (["run", "perceptron-scan", "--set", "n"], "field=value"),
        (["run", "perceptron-scan", "--resume", str(tmp_path / "missing")], "missing"),
        (["run", "perceptron-scan", "--resume", str(tmp_path / "empty")], "config.json"),
        (["run", "perceptron-scan", "--resume", str(tmp_path / "corrupt")], "unreadable"),
        (["run", "perceptron-scan", "--resume", str(other)], "explore"),
        (["plot", str(tmp_path / "empty")], "config.json"),
        (["frobnicate"], "invalid choice"),
    ]


def test_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    for argv, match in _bad_inputs(tmp_path):
        status = cli.main(argv)
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert status == 2, argv
        assert len(lines) == 1, (argv, captured.err)
        assert lines[0].startswith("error: "), (argv, lines)
        assert match in lines[0], (argv, lines)
        assert "Traceback" not in captured.err
    # nothing was created by the rejected runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt", "empty", "other"]


def test_bad_input_exit_status_of_the_real_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "landscape.cli", "run", "perceptron-scan", "--set", "alphas=[-1]"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: alphas=[-1")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv", [["run"], ["plot"]])
def test_missing_arguments(argv, capsys):
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")
