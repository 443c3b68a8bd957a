"""make bench plumbing: figures recorded by the scripts land in one table."""

import json

from landscape.experiments import _bench, bench_all


def test_record_appends_one_row_per_figure(tmp_path, monkeypatch):
    sink = tmp_path / "figures.jsonl"
    monkeypatch.delenv("LANDSCAPE_BENCH_JSON", raising=False)
    _bench.record("bench_x", "speed-up", 2.5, "a loop", n=3)
    assert not sink.exists()  # without the variable nothing is written
    monkeypatch.setenv("LANDSCAPE_BENCH_JSON", str(sink))
    _bench.record("bench_x", "speed-up", 2.5, "a loop", n=3)
    _bench.record("bench_y", "rate", 7, "1/s")
    rows = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [r["bench"] for r in rows] == ["bench_x", "bench_y"]
    assert rows[0]["value"] == 2.5
    assert rows[0]["sizes"] == {"n": 3}
    assert rows[0]["device"] == "cpu"
    assert rows[0]["devices"] >= 1
    assert rows[0]["jax"]
    table = bench_all.markdown(rows, {"bench_z": "exit status 1"})
    assert "| bench_x | speed-up | 2.5 | a loop | n=3 |" in table
    assert "**bench_z failed**: exit status 1" in table


def test_every_bench_script_records_a_figure():
    scripts = sorted(p for p in bench_all.HERE.glob("bench_*.py") if p.stem != "bench_all")
    assert scripts
    for path in scripts:
        assert "record(" in path.read_text(), f"{path.name} records no figure for make bench"
