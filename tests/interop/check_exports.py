#!/usr/bin/env python3
"""Reads fleetops exports with pyarrow and DuckDB and checks the values.

    check_exports.py --exports DIR [--dataset DIR]

DIR holds the result of tests/interop/query.sql over tests/fixtures/cli as
query.parquet, query.arrow (IPC file), query.csv, query.json and
query.ndjson. --dataset is a folder written by `fleetops ingest` over the
same fixtures, read as it is. Prints one line per check and a final
`interop: N passed, M failed`; exits non-zero when any check failed.
"""

import argparse
import datetime as dt
import json
import os
import sys
import traceback

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_ds
import pyarrow.ipc as pa_ipc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

UTC = dt.timezone.utc


def ts(text):
    """An ISO 8601 instant with Z as an aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# The rows of query.sql over tests/fixtures/cli, in id order.
EXPECTED = [
    {
        "id": "op-1", "device_id": "dev-1", "operation_type": "softwareUpdate",
        "status": "successful", "status_raw": "successful",
        "created_date_time": ts("2024-03-08T11:00:00Z"),
        "completed_date_time": ts("2024-03-08T11:01:35.500Z"),
        "duration_s": 90.5,
        "error": {"code": None, "message": "Unknown"},
        "created_by": {
            "user": {"id": "u-1", "display_name": "Ada Admin"},
            "application": None, "device": None,
        },
    },
    {
        "id": "op-2", "device_id": "dev-1", "operation_type": "deviceDiagnostics",
        "status": "failed", "status_raw": "Failed",
        "created_date_time": ts("2024-03-08T10:00:00Z"),
        "completed_date_time": ts("2024-03-08T10:02:10.123456Z"),
        "duration_s": 120.123456,
        "error": {"code": "DeviceOffline", "message": 'The device is "offline", try later'},
        "created_by": {
            "user": {"id": "u-2", "display_name": "Bo, Operator"},
            "application": None, "device": None,
        },
    },
    {
        "id": "op-3", "device_id": "dev-1", "operation_type": "restart",
        "status": "inProgress", "status_raw": "inProgress",
        "created_date_time": ts("2024-03-09T08:30:00Z"),
        "completed_date_time": None, "duration_s": None,
        "error": None, "created_by": None,
    },
    {
        "id": "op-4", "device_id": "dev-2", "operation_type": "unknownFutureValue",
        "status": "queued", "status_raw": "Queued",
        "created_date_time": ts("2024-03-10T00:00:00Z"),
        "completed_date_time": None, "duration_s": None,
        "error": None,
        "created_by": {
            "user": None, "application": None,
            "device": {"id": "d-9", "display_name": "Room 4"},
        },
    },
    {
        "id": "op-5", "device_id": None, "operation_type": "restart",
        "status": "cancelled", "status_raw": "canceled",
        "created_date_time": ts("2024-03-10T09:00:00Z"),
        "completed_date_time": None, "duration_s": None,
        "error": {"code": "Cancelled", "message": None},
        "created_by": None,
    },
]

COLUMNS = list(EXPECTED[0].keys())


def flat(row, prefix=""):
    """A row with struct fields flattened to `parent.child`, as the CSV has them."""
    out = {}
    for key, value in row.items():
        name = prefix + key
        if isinstance(value, dict):
            out.update(flat(value, name + "."))
        elif value is None and key in ("error", "created_by", "user", "application", "device"):
            template = {
                "error": {"code": None, "message": None},
                "created_by": {
                    "user": {"id": None, "display_name": None},
                    "application": {"id": None, "display_name": None},
                    "device": {"id": None, "display_name": None},
                },
                "user": {"id": None, "display_name": None},
                "application": {"id": None, "display_name": None},
                "device": {"id": None, "display_name": None},
            }[key]
            out.update(flat(template, name + "."))
        else:
            out[name] = value
    return out


FLAT_EXPECTED = [flat(r) for r in EXPECTED]
FLAT_COLUMNS = list(FLAT_EXPECTED[0].keys())

# The columns DuckDB is asked for (nested fields through struct access).
DUCK_SELECT = (
    "id, device_id, operation_type, status, status_raw, created_date_time, "
    "completed_date_time, duration_s, error.code, error.message, "
    "created_by.user.id, created_by.user.display_name, "
    "created_by.device.id, created_by.device.display_name, "
    "error IS NULL, created_by IS NULL"
)


def duck_expected():
    return [
        (
            r["id"], r["device_id"], r["operation_type"], r["status"], r["status_raw"],
            r["created_date_time"], r["completed_date_time"], r["duration_s"],
            r["error.code"], r["error.message"],
            r["created_by.user.id"], r["created_by.user.display_name"],
            r["created_by.device.id"], r["created_by.device.display_name"],
            e["error"] is None, e["created_by"] is None,
        )
        for r, e in zip(FLAT_EXPECTED, EXPECTED)
    ]


def utc(value):
    """Aware datetimes in UTC, recursively (naive ones are read as UTC)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: utc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(utc(v) for v in value)
    return value


def same(actual, expected, what):
    actual, expected = utc(actual), utc(expected)
    if actual != expected:
        if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
            for i, (a, e) in enumerate(zip(actual, expected)):
                if a != e:
                    raise AssertionError(f"{what}: row {i}:\n  got      {a!r}\n  expected {e!r}")
        raise AssertionError(f"{what}:\n  got      {actual!r}\n  expected {expected!r}")


def duck():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def check_arrow_table(table, what, rows=None):
    """Types and values of a table of query.sql read by pyarrow."""
    same(table.column_names, COLUMNS, f"{what} columns")
    schema = table.schema
    for name in ("created_date_time", "completed_date_time"):
        t = schema.field(name).type
        if not (pa.types.is_timestamp(t) and t.unit == "us" and t.tz == "UTC"):
            raise AssertionError(f"{what}: {name} is {t}, not timestamp[us, tz=UTC]")
    if not pa.types.is_struct(schema.field("error").type):
        raise AssertionError(f"{what}: error is {schema.field('error').type}, not a struct")
    same(table.to_pylist(), rows or EXPECTED, f"{what} rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", required=True)
    parser.add_argument("--dataset")
    args = parser.parse_args()
    exports = args.exports

    def path(name):
        return os.path.join(exports, name)

    checks = []

    def check(name):
        def register(fn):
            checks.append((name, fn))
            return fn

        return register

    # --- Parquet -----------------------------------------------------------
    @check("pyarrow reads query.parquet")
    def _():
        check_arrow_table(pq.read_table(path("query.parquet")), "parquet")

    @check("duckdb reads query.parquet")
    def _():
        con = duck()
        rows = con.execute(
            f"SELECT {DUCK_SELECT} FROM read_parquet(?) ORDER BY id", [path("query.parquet")]
        ).fetchall()
        same(rows, duck_expected(), "parquet via duckdb")
        types = con.execute(
            "SELECT typeof(created_date_time), typeof(error) FROM read_parquet(?) LIMIT 1",
            [path("query.parquet")],
        ).fetchone()
        same(
            types,
            ("TIMESTAMP WITH TIME ZONE", "STRUCT(code VARCHAR, message VARCHAR)"),
            "parquet types in duckdb",
        )

    # --- Arrow IPC file ----------------------------------------------------
    def ipc_table():
        with pa.memory_map(path("query.arrow")) as source:
            return pa_ipc.open_file(source).read_all()

    @check("pyarrow reads query.arrow (IPC file)")
    def _():
        check_arrow_table(ipc_table(), "arrow")

    @check("duckdb reads query.arrow (IPC file)")
    def _():
        con = duck()
        try:
            con.execute("LOAD nanoarrow")
            source = f"read_arrow('{path('query.arrow')}')"
        except duckdb.Error:
            # Without DuckDB's Arrow IPC extension: DuckDB scans the Arrow
            # data exactly as the file holds it, types included.
            table = ipc_table()
            con.register("arrow_file", table)
            source = "arrow_file"
            note = "DuckDB's nanoarrow extension is not installed: scanned the file's Arrow data"
        else:
            note = "read_arrow"
        rows = con.execute(f"SELECT {DUCK_SELECT} FROM {source} ORDER BY id").fetchall()
        same(rows, duck_expected(), "arrow via duckdb")
        types = con.execute(
            f"SELECT typeof(created_date_time), typeof(error) FROM {source} LIMIT 1"
        ).fetchone()
        same(
            types,
            ("TIMESTAMP WITH TIME ZONE", "STRUCT(code VARCHAR, message VARCHAR)"),
            "arrow types in duckdb",
        )
        return note

    # --- CSV ---------------------------------------------------------------
    @check("pyarrow reads query.csv (flattened structs, NULLs, UTC)")
    def _():
        table = pa_csv.read_csv(
            path("query.csv"),
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        )
        same(table.column_names, FLAT_COLUMNS, "csv header")
        for name in ("created_date_time", "completed_date_time"):
            t = table.schema.field(name).type
            if not (pa.types.is_timestamp(t) and t.tz == "UTC"):
                raise AssertionError(f"csv: {name} read as {t}, not a UTC timestamp")
        same(table.to_pylist(), FLAT_EXPECTED, "csv rows via pyarrow")

    @check("duckdb reads query.csv (flattened structs, NULLs, UTC)")
    def _():
        con = duck()
        cols = ", ".join(f'"{c}"' for c in FLAT_COLUMNS)
        rows = con.execute(
            f"SELECT {cols} FROM read_csv(?) ORDER BY id", [path("query.csv")]
        ).fetchall()
        same(
            [dict(zip(FLAT_COLUMNS, r)) for r in rows],
            FLAT_EXPECTED,
            "csv rows via duckdb",
        )
        header = [d[0] for d in con.execute("SELECT * FROM read_csv(?)", [path("query.csv")]).description]
        same(header, FLAT_COLUMNS, "csv header via duckdb")
        t = con.execute(
            "SELECT typeof(created_date_time) FROM read_csv(?) LIMIT 1", [path("query.csv")]
        ).fetchone()[0]
        same(t, "TIMESTAMP WITH TIME ZONE", "csv timestamp type in duckdb")

    # --- JSON --------------------------------------------------------------
    def json_value(row):
        out = dict(row)
        for name in ("created_date_time", "completed_date_time"):
            if out[name] is not None:
                out[name] = ts(out[name])
        return out

    @check("query.json is one array with explicit nulls and ISO 8601 Z timestamps")
    def _():
        with open(path("query.json"), encoding="utf-8") as f:
            text = f.read()
        rows = json.loads(text)
        same([list(r.keys()) for r in rows], [COLUMNS] * len(EXPECTED), "json keys (explicit nulls)")
        for r in rows:
            for name in ("created_date_time", "completed_date_time"):
                if r[name] is not None and not r[name].endswith("Z"):
                    raise AssertionError(f"json: {name} {r[name]!r} does not end with Z")
        same([json_value(r) for r in rows], EXPECTED, "json rows")

    @check("duckdb reads query.json")
    def _():
        con = duck()
        rows = con.execute(
            f"SELECT {DUCK_SELECT} FROM read_json(?, format = 'array') ORDER BY id",
            [path("query.json")],
        ).fetchall()
        same(rows, duck_expected(), "json via duckdb")
        t = con.execute(
            "SELECT typeof(created_date_time) FROM read_json(?, format = 'array') LIMIT 1",
            [path("query.json")],
        ).fetchone()[0]
        same(t, "TIMESTAMP WITH TIME ZONE", "json timestamp type in duckdb")

    @check("pyarrow reads query.ndjson")
    def _():
        schema = pa.schema(
            [
                ("created_date_time", pa.timestamp("us", tz="UTC")),
                ("completed_date_time", pa.timestamp("us", tz="UTC")),
            ]
        )
        table = pa_json.read_json(
            path("query.ndjson"),
            parse_options=pa_json.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )
        rows = [{c: r.get(c) for c in COLUMNS} for r in table.to_pylist()]
        for r in rows:
            # A struct field that is NULL in every row is inferred as type null.
            if r["created_by"] is not None:
                r["created_by"].setdefault("application", None)
        same(rows, EXPECTED, "ndjson rows via pyarrow")

    @check("duckdb reads query.ndjson")
    def _():
        con = duck()
        rows = con.execute(
            f"SELECT {DUCK_SELECT} FROM read_json(?, format = 'newline_delimited') ORDER BY id",
            [path("query.ndjson")],
        ).fetchall()
        same(rows, duck_expected(), "ndjson via duckdb")

    # --- The dataset, read as it is ----------------------------------------
    if args.dataset:
        dataset = args.dataset
        dataset_columns = COLUMNS[:7] + ["error", "created_by"]

        @check("duckdb reads the dataset with read_parquet('DIR/**/*.parquet')")
        def _():
            con = duck()
            glob = os.path.join(dataset, "**", "*.parquet")
            rows = con.execute(
                "SELECT id, device_id, operation_type, status, status_raw, created_date_time, "
                "completed_date_time, "
                "date_diff('microsecond', started_date_time, completed_date_time) / 1e6, "
                "error.code, error.message, created_by.user.id, created_by.user.display_name, "
                "created_by.device.id, created_by.device.display_name, "
                "error IS NULL, created_by IS NULL "
                "FROM read_parquet(?) ORDER BY id",
                [glob],
            ).fetchall()
            same(rows, duck_expected(), "dataset via duckdb")
            names = [
                d[0] for d in con.execute("SELECT * FROM read_parquet(?) LIMIT 0", [glob]).description
            ]
            for name in ("id", "last_action_date_time", "last_action_by", "source_file", "ingested_at"):
                if name not in names:
                    raise AssertionError(f"dataset via duckdb: no column {name} in {names}")

        @check("pyarrow.dataset reads DIR/operations")
        def _():
            ds = pa_ds.dataset(os.path.join(dataset, "operations"), format="parquet")
            table = ds.to_table(columns=dataset_columns).sort_by("id")
            rows = table.to_pylist()
            expected = [{c: r[c] for c in dataset_columns} for r in EXPECTED]
            same(rows, expected, "dataset via pyarrow")
            t = ds.schema.field("created_date_time").type
            same(str(t), "timestamp[us, tz=UTC]", "dataset timestamp type")
            lab = ds.to_table(columns=["id", "last_action_by"]).sort_by("id").to_pylist()
            same(
                lab[0]["last_action_by"],
                {
                    "user": None,
                    "application": {"id": "app-1", "display_name": "Teams Admin Center"},
                    "device": None,
                },
                "dataset last_action_by of op-1",
            )

    passed = failed = 0
    for name, fn in checks:
        try:
            note = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            print(f"FAIL {name}: {e}")
            if os.environ.get("INTEROP_TRACEBACK"):
                traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {name}" + (f" ({note})" if note else ""))
    print(f"interop: {passed} passed, {failed} failed "
          f"(pyarrow {pa.__version__}, duckdb {duckdb.__version__})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
