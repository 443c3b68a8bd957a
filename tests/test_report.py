"""`landscape report`: one self-contained HTML page per run, an index of runs, bad input.

The pages are parsed with the standard library's ``html.parser``; a slow test
opens one in headless Chromium (skipped where ``chromium`` is not installed).
"""

import base64
import dataclasses
import json
import shlex
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from landscape import cli, report, runs
from landscape.experiments import explore, perceptron_scan

VOID = {"meta", "img", "br", "hr", "input", "link", "col", "source", "wbr"}


class Page(HTMLParser):
    """Collects the text, the images and the links of a page, checking that tags nest."""

    def __init__(self, text):
        super().__init__()
        self.stack, self.images, self.links, self.chunks, self.ids = [], [], [], [], set()
        self.scripts = 0
        self.feed(text)
        self.close()
        assert self.stack == [], f"unclosed tags {self.stack}"
        self.text = " ".join(self.chunks)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "a":
            self.links.append(attrs.get("href"))
        if tag == "script":
            self.scripts += 1
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack[-1:] == [tag], f"</{tag}> closes {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.chunks.append(data)


def png(width=3, height=2, rgb=(200, 30, 30)):
    """A valid RGB PNG of one colour, written with zlib alone."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def fake_measure(point, keys):
    """A cheap stand-in for training: a mean with its stderr, a long list, a theory value."""
    draws = jax.vmap(lambda k: jax.random.normal(k, ()))(keys)
    row = {
        "loss_mean": float(jnp.mean(draws)),
        "loss_stderr": float(jnp.std(draws) / 2),
        "fraction_solved": 0.5,
        "fraction_solved_stderr": 0.25,
        "per_sample": [float(x) for x in range(12)],
        "gardner_capacity": 2.0,
        "note": "multi\nline",
    }
    return row, None


def scan_run(tmp_path, config=None, name="scan"):
    """A perceptron-scan run directory filled by `fake_measure` (no training), one figure."""
    config = config or dataclasses.replace(perceptron_scan.Config.quick(), n=17)
    out = runs.create(tmp_path / name, perceptron_scan.NAME, config)
    points = [{"alpha": a} for a in config.alphas]
    runs.scan(out, points, fake_measure, seed=config.seed, samples=4, log=None)
    (out / "perceptron_scan.png").write_bytes(png())
    return out, config


def read_page(run_dir):
    text = (Path(run_dir) / report.REPORT).read_text()
    return text, Page(text)


def test_report_holds_config_rows_figures_theory_and_timing(tmp_path, capsys):
    out, config = scan_run(tmp_path)
    (out / "sub").mkdir()
    (out / "sub" / "extra.png").write_bytes(png(rgb=(0, 90, 200)))
    assert cli.main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out / report.REPORT}"
    text, page = read_page(out)
    assert text.startswith("<!DOCTYPE html>")
    assert page.scripts == 0
    assert "http" not in text  # nothing to fetch
    # every PNG of the run is inlined, byte for byte
    inlined = [base64.b64decode(img["src"].split(",", 1)[1]) for img in page.images]
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == 2
    assert sorted(inlined) == sorted(p.read_bytes() for p in pngs)
    # captions: from the plot docstring, else from the file name
    assert "fraction solved and training error vs alpha" in page.text
    assert "Extra" in page.text
    # the experiment, its description, every config field and value
    assert perceptron_scan.NAME in page.text
    assert perceptron_scan.DESCRIPTION in page.text
    for field in runs.read_config(out)["config"]:
        assert field in page.text, field
    assert "17" in page.text
    # every row key, means with their standard errors
    rows = runs.read_rows(out)
    for key in {k for r in rows for k in r}:
        assert key in page.text, key
    assert f"{rows[0]['loss_mean']:.4g}" in page.text
    assert f"± {rows[0]['loss_stderr']:.4g}" in page.text
    # the 12-entry list is folded, the 3-entry alphas are not
    assert text.count("<details>") >= len(rows)
    assert "12 values" in page.text
    # theory values by name, wall time per point, versions and devices, the reproducing command
    theory = text.split('id="theory"')[1].split("</section>")[0]
    assert "gardner_capacity" in theory
    assert "appears only in its figure" in theory
    timing = text.split('id="timing"')[1].split("</section>")[0]
    assert timing.count("alpha=") == len(rows)
    record = runs.read_config(out)
    assert record["versions"]["jax"] in page.text
    assert record["devices"][0] in page.text
    assert "landscape run perceptron-scan --quick --set n=17" in page.text
    assert "Not resumed" in page.text
    assert {"reproduce", "config", "results", "figures", "theory", "timing"} <= page.ids


def _words(command):
    words = shlex.split(command)
    assert words[0] == "landscape"
    return words[1:]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"n": 17},
        {"alphas": (0.75,), "loss": "quadratic_hinge", "kappa": -0.5},
        {"alphas": (0.5, 1.0, 1.25), "samples": 3, "steps": 12, "lr": 0.5},
    ],
)
def test_reproduce_command_rebuilds_the_config(changes):
    for base in (perceptron_scan.Config.quick(), perceptron_scan.Config.default()):
        config = dataclasses.replace(base, **changes)
        record = {"experiment": perceptron_scan.NAME, "config": runs._jsonable(config)}
        command, notes = report.reproduce_command(record, perceptron_scan)
        assert notes == []
        args = cli._parser().parse_args(_words(command))
        start = perceptron_scan.Config.quick() if args.quick else perceptron_scan.Config.default()
        rebuilt = cli.config_from(perceptron_scan.Config, start, cli.parse_assignments(args.set))
        assert rebuilt == config, command
    quick = {"experiment": perceptron_scan.NAME, "config": runs._jsonable(base)}
    assert report.reproduce_command(quick, perceptron_scan)[0].endswith("perceptron-scan")


def test_reproduce_command_of_explore_and_of_string_fields():
    config = dataclasses.replace(explore.Config.quick(), panels=("panel_lmc",), mlp_steps=5)
    record = {"experiment": "explore", "config": runs._jsonable(config)}
    command, _ = report.reproduce_command(record, explore)
    assert command.startswith("landscape explore --quick ")
    args = cli._parser().parse_args(_words(command))
    rebuilt = cli.config_from(
        explore.Config, explore.Config.quick(), cli.parse_assignments(args.set)
    )
    assert rebuilt == config
    # a string that reads as JSON is quoted so that it stays a string; unknown runs set every field
    record = {"experiment": "nowhere", "config": {"name": "1", "word": "a b", "xs": [1, 2]}}
    command, notes = report.reproduce_command(record, None)
    assert shlex.split(command)[3:] == [
        "--set",
        'name="1"',
        "--set",
        "word=a b",
        "--set",
        "xs=[1,2]",
    ]
    assert "not known" in notes[0]


def test_resumed_points_are_recorded_and_shown(tmp_path, monkeypatch, capsys):
    crash = {"alpha": 1.5}

    def fake_run(config, run_dir):
        def measure(point, keys):
            if point["alpha"] == crash["alpha"]:
                raise KeyboardInterrupt  # killed while computing this point
            return fake_measure(point, keys)

        points = [{"alpha": a} for a in config.alphas]
        return runs.scan(run_dir, points, measure, seed=config.seed, samples=2)

    monkeypatch.setattr(perceptron_scan, "run", fake_run)
    monkeypatch.setattr(perceptron_scan, "plot", lambda run_dir: [])
    out = tmp_path / "run"
    argv = ["run", "perceptron-scan", "--set", "alphas=[0.5,1,1.5,2]", "--out", str(out)]
    with pytest.raises(KeyboardInterrupt):
        cli.main(argv)
    with open(out / runs.RESULTS, "a") as f:
        f.write('{"point_index": 2, "alp')  # the torn row of the killed point
    torn_text, _ = read_page(out) if (out / report.REPORT).exists() else ("", None)
    assert torn_text == ""  # the killed run wrote no report
    assert cli.main(["report", str(out)]) == 0
    _, page = read_page(out)
    assert "torn" in page.text
    assert "incomplete: 2 of 4 points" in page.text
    crash["alpha"] = None  # no more crashes
    assert cli.main(["run", "perceptron-scan", "--resume", str(out)]) == 0
    capsys.readouterr()
    events = runs.read_events(out)
    assert [e["event"] for e in events] == ["start", "scan", "resume", "scan"]
    assert [e["rows"] for e in events] == [0, 0, 2, 2]
    assert events[1]["todo"] == [0, 1, 2, 3]
    assert events[3]["todo"] == [2, 3]
    assert events[2]["command"] == ["landscape", "run", "perceptron-scan", "--resume", str(out)]
    text, page = read_page(out)
    assert "Resumed 1 time." in page.text
    assert "complete: 4 of 4 points" in page.text
    assert "torn" not in page.text  # the resume dropped the torn line
    sessions = text.split('id="sessions"')[1].split("</section>")[0]
    assert "[0, 1]" in sessions
    assert "[2, 3]" in sessions
    timing = text.split('id="timing"')[1].split("</section>")[0]
    assert timing.count("first run") == 2
    assert timing.count("resume 1") == 2
    # the rows are those of an uninterrupted scan (timing aside)
    ref = tmp_path / "ref"
    assert cli.main([*argv[:-1], str(ref)]) == 0
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(runs.read_rows(out)) == strip(runs.read_rows(ref))


def test_a_run_without_rows_shows_its_config(tmp_path, capsys):
    out = runs.create(tmp_path / "new", perceptron_scan.NAME, perceptron_scan.Config.quick())
    assert cli.main(["report", str(out)]) == 0
    capsys.readouterr()
    _, page = read_page(out)
    assert "No rows yet" in page.text
    for field in dataclasses.asdict(perceptron_scan.Config.quick()):
        assert field in page.text
    assert "landscape plot" in page.text  # no figures yet: how to draw them
    # a torn only line is no row either
    (out / runs.RESULTS).write_text('{"point_index": 0, "alp')
    assert cli.main(["report", str(out)]) == 0
    _, page = read_page(out)
    assert "No rows yet" in page.text
    assert "torn" in page.text


def test_explore_report_folds_curves_and_shows_the_nested_run(tmp_path, capsys):
    config = explore.Config.quick()
    out = runs.create(tmp_path / "explore", "explore", config)
    curves = [[step, 1.0, 0.5, 1.1, 0.6] for step in range(0, 420, 20)]
    runs.append_row(out, {"panel": "mlp_seed0", "seed": 0, "curves": curves, "summary": "MLP a\nb"})
    runs.append_row(out, {"panel": "perceptron", "summary": "perceptron", "seconds": 1.5})
    sub, _ = scan_run(out, name="perceptron-scan")
    (out / "explore_mlp.png").write_bytes(png())
    assert cli.main(["report", str(out)]) == 0
    capsys.readouterr()
    text, page = read_page(out)
    assert "landscape explore --quick" in page.text
    assert "21 × 5 values" in page.text
    assert "MLP a\nb" in text
    nested = text.split('id="nested"')[1].split("</section>")[0]
    assert "perceptron-scan" in nested
    assert "loss_mean" in nested
    assert len(page.images) == 2  # explore_mlp.png and perceptron-scan/perceptron_scan.png
    assert (sub / runs.RESULTS).exists()


def test_index_of_a_directory_of_runs(tmp_path, capsys):
    first, _ = scan_run(tmp_path, name="a")
    second = runs.create(tmp_path / "b", "explore", explore.Config.quick())
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / runs.CONFIG).write_text("{oops")
    assert cli.main(["report", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"index: {tmp_path / report.INDEX} (3 runs)"
    text = (tmp_path / report.INDEX).read_text()
    page = Page(text)
    assert {"a/report.html", "b/report.html"} <= set(page.links)
    assert (first / report.REPORT).exists()
    assert (second / report.REPORT).exists()
    assert "perceptron-scan" in page.text
    assert "explore" in page.text
    assert "alpha=3" in page.text  # the last row's headline
    assert "no rows yet" in page.text
    assert "unreadable" in page.text  # the broken run is listed with its reason


def test_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / runs.CONFIG).write_text("{oops")
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / runs.CONFIG).write_text("[1, 2]")
    cases = [
        (tmp_path / "missing", "does not exist"),
        (tmp_path / "empty", "expected a run directory or a directory of runs"),
        (tmp_path / "corrupt", "unreadable"),
        (tmp_path / "list", "not a run record"),
    ]
    for path, match in cases:
        assert cli.main(["report", str(path)]) == 2, path
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith("error: "), err
        assert match in err[0], err
    assert not list(tmp_path.rglob(report.REPORT))
    assert cli.main(["report"]) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: apt-get install -y chromium to run this test"
)
def test_report_of_a_quick_run_renders_in_a_browser(tmp_path, capsys):
    image = pytest.importorskip("PIL.Image", reason="PIL (with matplotlib) reads the screenshot")
    out = tmp_path / "scan"
    argv = ["run", "perceptron-scan", "--quick", "--set", "steps=60", "--out", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"run directory: {out}"
    assert printed[-1] == f"report: {out / report.REPORT}"
    shot = tmp_path / "screenshot.png"
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,2600",
            (out / report.REPORT).as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), proc.stderr
    with image.open(shot) as picture:
        assert picture.size == (1200, 2600)
        data = picture.convert("RGB").tobytes()
    pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
    colours = set(pixels)
    assert len(colours) > 200  # text, tables and a figure, not a blank or error page
    # matplotlib's first two line colours (C0 blue, C1 orange) only come from the figure
    near = lambda p, c: all(abs(a - b) <= 12 for a, b in zip(p, c, strict=True))
    assert sum(near(p, (31, 119, 180)) for p in pixels) > 200
    assert sum(near(p, (255, 127, 14)) for p in pixels) > 200
    # the page itself is well formed and holds the figure
    _, page = read_page(out)
    assert len(page.images) == 1
    json.loads((out / runs.CONFIG).read_text())
