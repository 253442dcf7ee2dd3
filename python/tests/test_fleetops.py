"""fleetops from Python gives the command line's answers on sample-data."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import datafusion
import fleetops
import pyarrow as pa
import pyarrow.ipc
import pytest
from conftest import SAMPLE

# The counts of `fleetops ingest sample-data --json` (README "Using it").
SAMPLE_COUNTS = {
    "files": 18,
    "records": 537,
    "rows": 435,
    "duplicates": 96,
    "rejected": 6,
    "repaired": 3,
    "failed_files": 0,
}

DURATION = "op_duration_seconds(started_date_time, completed_date_time)"

# Every fleetops function, alone and under GROUP BY, and the table function.
QUERIES = {
    "scalars": f"""
        SELECT id, {DURATION} AS duration_s,
               op_queue_seconds(created_date_time, started_date_time) AS queue_s,
               is_terminal(status) AS terminal, is_failed(status) AS failed
        FROM operations ORDER BY id""",
    "aggregates": f"""
        SELECT failure_rate(status) AS fr, op_percentile({DURATION}, 0.5) AS p50,
               op_percentile({DURATION}, 0.95) AS p95, count(*) AS n
        FROM operations""",
    "by_type": f"""
        SELECT operation_type, failure_rate(status) AS fr,
               op_percentile({DURATION}, 0.9) AS p90, count(*) AS n
        FROM operations GROUP BY operation_type ORDER BY operation_type NULLS LAST""",
    "by_device": """
        SELECT device_id, failure_rate(status) AS fr, count(*) AS n,
               sum(CASE WHEN is_failed(status) THEN 1 ELSE 0 END) AS failed
        FROM operations GROUP BY device_id ORDER BY device_id NULLS LAST""",
    "stats": "SELECT * FROM operation_type_stats()",
    "stats_projected": """
        SELECT operation_type, failed, p95_duration_s FROM operation_type_stats()
        WHERE operations > 30""",
    "window": """
        SELECT count(*) AS n, failure_rate(status) AS fr FROM operations
        WHERE created_date_time >= TIMESTAMP '2026-10-15T00:00:00Z'""",
    "rejects": 'SELECT file, reason FROM rejects ORDER BY file, line, "index"',
    # A filter the table applies (the time bound) beside one it leaves to
    # datafusion-python (a fleetops function).
    "filtered": """
        SELECT id, status FROM operations
        WHERE is_failed(status) AND created_date_time < TIMESTAMP '2026-11-01T00:00:00Z'
        ORDER BY id""",
}


def cli_table(cli, tmp_path: Path, *args: str | os.PathLike[str]) -> pa.Table:
    """A command's result written as Arrow IPC, read back."""
    out = tmp_path / f"out-{time.monotonic_ns()}.arrow"
    cli(*args, "--format", "arrow", "--output", out)
    with pa.ipc.open_file(out) as f:
        return f.read_all()


def assert_same(got: pa.Table, want: pa.Table) -> None:
    """Same columns and rows; floats within 1e-12 relative."""
    assert got.column_names == want.column_names
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        g, w = got.column(name).to_pylist(), want.column(name).to_pylist()
        for i, (a, b) in enumerate(zip(g, w)):
            if isinstance(b, float) and a is not None:
                assert math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0), (name, i, a, b)
            else:
                assert a == b, (name, i, a, b)


def test_ingest_counts_equal_the_command_line(dataset, cli_dataset):
    _, cli_counts = cli_dataset
    assert cli_counts == SAMPLE_COUNTS
    # The session fixture ingested through Python; ingest again elsewhere to
    # see the returned dict.
    out = dataset.parent / "again"
    assert fleetops.ingest(str(SAMPLE), out) == SAMPLE_COUNTS
    # Ingesting the same exports once more adds nothing.
    again = fleetops.ingest([SAMPLE], out)
    assert again["records"] == 537 and again["rows"] == 0
    assert again["records"] == again["rows"] + again["duplicates"] + again["rejected"]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_function_answers_as_the_command_line(
    name, ctx, cli, cli_dataset, tmp_path
):
    sql = QUERIES[name]
    got = ctx.sql(sql).to_arrow_table()
    want = cli_table(cli, tmp_path, "sql", sql, "--data", cli_dataset[0])
    assert got.num_rows > 0
    assert_same(got, want)


def test_operation_type_stats_values(ctx):
    rows = {
        r["operation_type"]: r
        for r in ctx.sql("SELECT * FROM operation_type_stats()").to_pylist()
    }
    assert len(rows) == 8
    config = rows["configUpdate"]
    assert (config["operations"], config["successful"], config["failed"]) == (
        122,
        106,
        9,
    )
    assert (config["cancelled"], config["in_flight"]) == (3, 4)
    assert config["failure_rate"] == pytest.approx(9 / 115, rel=1e-12)


def test_frames_for_pandas_polars_and_arrow(ctx):
    df = ctx.sql(
        "SELECT operation_type, failure_rate(status) AS fr, count(*) AS n FROM operations "
        "GROUP BY 1 ORDER BY n DESC, operation_type"
    )
    table = df.to_arrow_table()
    assert table.num_rows == 8
    pandas = df.to_pandas()
    assert list(pandas.columns) == ["operation_type", "fr", "n"]
    assert pandas["n"].sum() == 435
    assert pandas.iloc[0]["operation_type"] == "configUpdate"
    polars = df.to_polars()
    assert polars.shape == (8, 3)
    assert polars["n"].to_list() == table.column("n").to_pylist()


def test_register_on_any_context():
    ctx = fleetops.register(datafusion.SessionContext())
    got = ctx.sql(
        "SELECT op_duration_seconds(TIMESTAMP '2026-01-01T00:00:00Z', "
        "TIMESTAMP '2026-01-01T00:01:30Z') AS d, is_failed('Failed') AS f, "
        "is_terminal(NULL) AS t"
    ).to_pylist()
    assert got == [{"d": 90.0, "f": True, "t": None}]
    rate = ctx.sql(
        "SELECT failure_rate(s) AS fr, op_percentile(v, 0.5) AS p FROM "
        "(VALUES ('failed', 1.0), ('successful', 2.0), ('successful', 4.0), ('queued', NULL)) t(s, v)"
    ).to_pylist()
    assert rate == [{"fr": pytest.approx(1 / 3, rel=1e-12), "p": 2.0}]


def test_operation_type_stats_over_a_table_registered_later(
    ctx, cli, cli_dataset, tmp_path
):
    # operation_type_stats() reads whatever `operations` is when it runs.
    operations = ctx.sql("SELECT * FROM operations").to_arrow_table()
    other = fleetops.register(datafusion.SessionContext())
    with pytest.raises(Exception, match="operations"):
        other.sql("SELECT * FROM operation_type_stats()").collect()
    other.from_arrow(operations, name="operations")
    got = other.sql("SELECT * FROM operation_type_stats()").to_arrow_table()
    want = cli_table(
        cli,
        tmp_path,
        "sql",
        "SELECT * FROM operation_type_stats()",
        "--data",
        cli_dataset[0],
    )
    assert_same(got, want)


def test_wrong_arguments_raise_python_exceptions(ctx, dataset, tmp_path):
    with pytest.raises(Exception, match="failure_rate"):
        ctx.sql("SELECT failure_rate(42) FROM operations").collect()
    with pytest.raises(Exception, match="op_percentile"):
        ctx.sql("SELECT op_percentile(1.0, 'half') FROM operations").collect()
    with pytest.raises(Exception, match="takes no arguments"):
        ctx.sql("SELECT * FROM operation_type_stats(1)").collect()
    with pytest.raises(TypeError):
        fleetops.ingest(42, tmp_path / "x")
    with pytest.raises(TypeError):
        fleetops.ingest(SAMPLE, tmp_path / "x", threads="many")
    with pytest.raises(TypeError):
        fleetops.register("not a context")
    with pytest.raises(fleetops.Error, match="missing: No such file"):
        fleetops.ingest(tmp_path / "missing", tmp_path / "x")
    with pytest.raises(fleetops.Error, match="no such file or folder"):
        fleetops.context(tmp_path / "missing")
    with pytest.raises(fleetops.Error, match="not a report format"):
        fleetops.report(dataset, format="pdf")
    with pytest.raises(fleetops.Error, match="since"):
        fleetops.report(dataset, since="last tuesday")
    with pytest.raises(fleetops.Error, match="no-such-query"):
        fleetops.run("no-such-query", dataset)
    with pytest.raises(fleetops.Error, match="redaction key"):
        fleetops.context(dataset, redact_key="short")
    # One line, as on the command line.
    try:
        fleetops.report(dataset, format="pdf")
    except fleetops.Error as e:
        assert "\n" not in str(e)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small_dataset(tmp_path) -> Path:
    out = tmp_path / "fleet"
    fleetops.ingest(SAMPLE / "pages", out)
    return out


def test_progress_callback_interrupt_leaves_the_dataset_unchanged(small_dataset):
    before = snapshot(small_dataset)
    calls = []

    def progress(bytes_read: int, files_done: int) -> None:
        calls.append((bytes_read, files_done))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fleetops.ingest(SAMPLE, small_dataset, progress=progress)
    assert calls and calls[0][0] > 0
    assert snapshot(small_dataset) == before
    n = (
        fleetops.context(small_dataset)
        .sql("SELECT count(*) AS n FROM operations")
        .to_pylist()
    )
    assert n == [
        {
            "n": len(
                fleetops.context(SAMPLE / "pages")
                .sql("SELECT id FROM operations")
                .to_pylist()
            )
        }
    ]
    # Nothing is left locked or staged: the same ingest now goes through.
    assert fleetops.ingest(SAMPLE, small_dataset)["records"] == 537


def test_ctrl_c_leaves_the_dataset_unchanged(small_dataset):
    before = snapshot(small_dataset)
    sent = threading.Event()

    def progress(bytes_read: int, files_done: int) -> None:
        # Ctrl-C while the run reads: the main thread's wait sees it.
        if not sent.is_set():
            sent.set()
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)

    # Python's own Ctrl-C handler, whatever was inherited: a shell starting
    # the tests in the background leaves SIGINT ignored.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            fleetops.ingest(SAMPLE, small_dataset, progress=progress)
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert sent.is_set()
    assert snapshot(small_dataset) == before
    assert fleetops.ingest(SAMPLE, small_dataset)["records"] == 537


def test_ingest_releases_the_gil(tmp_path):
    # Another Python thread keeps running while the ingest works: it could
    # not take a single step if the GIL were held for the whole call.
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        time.sleep(0.01)
        before = ticks
        fleetops.ingest(SAMPLE, tmp_path / "fleet")
        during = ticks - before
    finally:
        done.set()
        ticker.join()
    # A held GIL would allow a tick or two at the switch interval, not ten.
    assert during >= 10, during


def test_report_equals_the_command_line(dataset, cli):
    for since, until in [(None, None), ("2026-10-01", "2026-11-01")]:
        window = ["--since", since, "--until", until] if since else []
        want = json.loads(cli("report", "--data", dataset, "--format", "json", *window))
        got = fleetops.report(dataset, since=since, until=until)
        assert got["version"] == 2
        assert got["data"]["operations"] == 435
        assert got == want
    window = ["--since", "2026-10-01", "--until", "2026-11-01"]
    md = fleetops.report(dataset, format="md", since="2026-10-01", until="2026-11-01")
    assert md == cli("report", "--data", dataset, "--format", "md", *window)
    html = fleetops.report(dataset, format="html")
    assert html == cli("report", "--data", dataset, "--format", "html")
    assert "<svg" in html


def test_named_queries_equal_the_command_line(dataset, cli, tmp_path):
    got = fleetops.run("top_failing_devices", dataset, since="2026-09-01", limit=5)
    want = cli_table(
        cli,
        tmp_path,
        "run",
        "top_failing_devices",
        "--data",
        dataset,
        "--param",
        "since=2026-09-01",
        "--param",
        "limit=5",
    )
    assert isinstance(got, pa.Table)
    assert got.num_rows > 0
    assert_same(got, want)
    names = [q["name"] for q in fleetops.queries()]
    listed = cli("queries")
    assert names and all(n in listed for n in names)
    for name in names:
        assert_same(
            fleetops.run(name, dataset),
            cli_table(cli, tmp_path, "run", name, "--data", dataset),
        )


def test_functions_are_listed_with_their_null_behaviour(cli):
    docs = fleetops.functions()
    names = [f["name"] for f in docs]
    assert names == [
        "op_duration_seconds",
        "op_queue_seconds",
        "is_terminal",
        "is_failed",
        "failure_rate",
        "op_percentile",
        "operation_type_stats",
    ]
    listed = cli("functions")
    for f in docs:
        assert f["name"] in listed and f["null_behaviour"]


def test_redaction_matches_the_command_line(dataset, cli, tmp_path):
    key = "00112233445566778899aabbccddeeff"
    key_file = tmp_path / "key"
    key_file.write_text(key)
    sql = "SELECT id, created_by FROM operations WHERE created_by IS NOT NULL ORDER BY id LIMIT 20"
    got = fleetops.context(dataset, redact_key=key).sql(sql).to_arrow_table()
    want = cli_table(
        cli, tmp_path, "sql", sql, "--data", dataset, "--redact-key-file", key_file
    )
    assert got.num_rows == 20
    assert_same(got, want)
    plain = fleetops.context(dataset).sql(sql).to_arrow_table()
    assert (
        plain.column("created_by").to_pylist() != got.column("created_by").to_pylist()
    )


def test_version_guard_names_the_needed_datafusion(tmp_path):
    fake = tmp_path / "datafusion"
    fake.mkdir()
    (fake / "__init__.py").write_text('__version__ = "54.1.0"\n')
    package = Path(fleetops.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(package)]))
    done = subprocess.run(
        [sys.executable, "-c", "import fleetops"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode != 0
    assert "fleetops needs datafusion 55.x" in done.stderr
    assert "datafusion 54.1.0 is installed" in done.stderr
