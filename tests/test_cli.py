"""The `landscape` command: list, run with --set, and one-line errors with status 2.

Also where the studies are found and how they are packaged: only the command
line imports ``landscape.experiments``, and the wheel ships nothing but ``landscape*``.
"""

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from landscape import cli, runs
from landscape.experiments import perceptron_scan


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "perceptron-scan" in lines
    assert "explore" in lines
    assert perceptron_scan.DESCRIPTION in lines["perceptron-scan"]


def test_set_converts_types():
    base = perceptron_scan.Config.quick()
    assignments = cli.parse_assignments(
        ["alphas=[0.5,1]", "n=10", "lr=1", "loss=quadratic_hinge", "kappa=0.25"]
    )
    config = cli.config_from(perceptron_scan.Config, base, assignments)
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


def test_a_scalar_for_a_list_field_is_a_one_element_list():
    quick = perceptron_scan.Config.quick()
    config = cli.config_from(perceptron_scan.Config, quick, {"alphas": "2"})
    assert config.alphas == (2.0,)
    assert isinstance(config.alphas[0], float)
    assert cli.config_from(perceptron_scan.Config, quick, {"alphas": 0.5}).alphas == (0.5,)
    from landscape.experiments import explore

    config = cli.config_from(explore.Config, explore.Config.quick(), {"panels": "panel_lmc"})
    assert config.panels == ("panel_lmc",)
    config = cli.config_from(explore.Config, explore.Config.quick(), {"widths": "[64,10]"})
    assert config.widths == (64, 10)


def test_run_prints_directory_progress_summary_and_report(tmp_path, capsys, monkeypatch):
    def fake_run(config, run_dir):
        def measure(point, keys):  # noqa: ARG001
            return {"error_mean": point["alpha"] / 10, "error_stderr": 0.01, "n": config.n}, None

        points = [{"alpha": a} for a in config.alphas]
        return runs.scan(run_dir, points, measure, seed=config.seed, samples=1)

    monkeypatch.setattr(perceptron_scan, "run", fake_run)
    monkeypatch.setattr(perceptron_scan, "plot", lambda run_dir: [])
    out = tmp_path / "run"
    argv = ["run", "perceptron-scan", "--set", "alphas=[0.5,1,2]", "--out", str(out)]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"run directory: {out}"
    progress = [line for line in lines if line.startswith("[")]
    assert [p.split(",")[0] for p in progress] == ["[1/3", "[2/3", "[3/3"]
    assert "left]" in progress[0]
    assert "done]" in progress[2]
    assert "error_mean=0.05±0.01" in progress[0]
    assert lines[-4].startswith(f"rows: 3 in {out / runs.RESULTS}")
    assert lines[-3].startswith("  first: [0] alpha=0.5, error_mean=0.05 ± 0.01")
    assert ", n=" not in lines[-3]  # the same in every row: left out
    assert lines[-2].startswith("  last:  [2] alpha=2, error_mean=0.2 ± 0.01")
    assert lines[-1] == f"report: {out / 'report.html'}"
    assert (out / "report.html").exists()
    # a resumed run that has nothing left to do says so in the same shape
    assert cli.main(["run", "perceptron-scan", "--resume", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"run directory: {out}"
    assert not [line for line in lines if line.startswith("[")]
    assert lines[-1] == f"report: {out / 'report.html'}"


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
        (["run", "perceptron-scan", "--set", "alphas=abc"], 'alphas="abc"'),
        (["run", "perceptron-scan", "--set", "alphas=[0.5,true]"], "alphas=true"),
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


@pytest.mark.parametrize("argv", [["run"], ["plot"], ["report"]])
def test_missing_arguments(argv, capsys):
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


ROOT = Path(__file__).resolve().parents[1]


def test_every_experiment_is_listed_and_importable_under_landscape():
    found = cli.all_experiments()
    names = {m.stem for m in (ROOT / "experiments").glob("*.py")}
    studies = {n for n in names if not n.startswith(("bench_", "panel_", "_"))}
    assert {m.__name__ for m in found.values()} == {f"landscape.experiments.{n}" for n in studies}
    assert cli.experiment("perceptron-scan") is perceptron_scan


def test_the_library_does_not_import_the_studies():
    code = (
        "import sys\n"
        "import landscape, landscape.plots, landscape.runs, landscape.curvature.plots\n"
        "import landscape.paths.plots, landscape.cli\n"
        "bad = sorted(m for m in sys.modules if 'experiments' in m)\n"
        "print(repr(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_pyproject_packages_name_every_package_folder():
    # the explicit list in pyproject.toml (needed for the landscape.experiments mapping)
    # must not fall behind the tree, or a wheel would silently lack a subpackage
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"landscape.experiments": "experiments"}
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "landscape").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == folders | {"landscape.experiments"}
    assert all(name.startswith("landscape") for name in setuptools["packages"])


def test_missing_plot_extra_is_one_line(tmp_path, capsys, monkeypatch):
    def no_matplotlib(run_dir):
        raise ImportError("figures need matplotlib: pip install 'landscape[plot]'")

    monkeypatch.setattr(perceptron_scan, "run", lambda config, run_dir: None)
    monkeypatch.setattr(perceptron_scan, "plot", no_matplotlib)
    out = tmp_path / "run"
    # the run itself succeeded: its figures are skipped with a note
    assert cli.main(["run", "perceptron-scan", "--quick", "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("no figures: figures need matplotlib: pip install 'landscape[plot]'")
    assert err[0].endswith(f"then: landscape plot {out}")
    assert cli.main(["plot", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: figures need matplotlib: pip install 'landscape[plot]'"]
