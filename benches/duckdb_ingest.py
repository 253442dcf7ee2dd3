#!/usr/bin/env python3
"""DuckDB doing the work of `fleetops ingest`, for benches/compare.

    duckdb_ingest.py --format ndjson|pages --out DIR INPUT...

Reads exported Graph teamworkDeviceOperation JSON, either NDJSON (one
operation per line, each with a `deviceId`) or Graph list pages
(`{"@odata.context": ".../devices('<id>')/operations", "value": [op, ...]}`),
and writes DIR/operations/part-0.parquet (zstd) with the columns of the
fleetops `operations` table:

- timestamps read as TIMESTAMPTZ (UTC instants; Graph's unset value
  `0001-01-01T00:00:00Z` becomes NULL);
- `status` normalised as fleetops does (case-insensitive, `succeeded` and
  `canceled` aliases), the original kept in `status_raw`;
- `createdBy` / `lastActionBy` identity sets and `error` as structs with
  snake_case field names;
- the device id from `deviceId` (NDJSON) or from the page's `@odata.context`
  (pages, where Graph puts it);
- records without an `id` dropped;
- one row per `id`: the record with the latest `lastActionDateTime` wins, and
  a known device id is never replaced by NULL;
- `source_file` and `ingested_at` lineage columns.

DuckDB runs with its defaults (every core, its own memory limit); the only
setting changed is `preserve_insertion_order = false`, which DuckDB's own
performance guide recommends for large exports, since row order is not
meaningful here. The Parquet file is written with zstd at level 1, the level
fleetops uses.

Pages are read by default with `read_text` and parsed with `from_json` (the
same JSON extension, same typed structure): on thousands of small page files
that is several times faster than `read_json`, whose per-file cost dominates
(about 1 ms a file on a 2-core machine). `--pages-reader read_json` reads
them with `read_json(..., format = 'unstructured')` instead.

Prints one JSON line: {"rows": N, "seconds": S} (S: time inside this process,
interpreter start-up and `import duckdb` excluded).
"""

import argparse
import json
import os
import sys
import time

import duckdb

IDENTITY = {"id": "VARCHAR", "displayName": "VARCHAR"}
IDENTITY_SET = {"user": IDENTITY, "application": IDENTITY, "device": IDENTITY}

# The properties read from each operation, with their types (DuckDB's JSON
# structure notation: a dict is a STRUCT, a one-element list a LIST). DuckDB
# parses the timestamps (ISO 8601 with Z or an offset, up to 7 fraction
# digits, truncated to microseconds) while it reads the JSON.
OPERATION = {
    "id": "VARCHAR",
    "operationType": "VARCHAR",
    "status": "VARCHAR",
    "createdDateTime": "TIMESTAMPTZ",
    "startedDateTime": "TIMESTAMPTZ",
    "completedDateTime": "TIMESTAMPTZ",
    "lastActionDateTime": "TIMESTAMPTZ",
    "createdBy": IDENTITY_SET,
    "lastActionBy": IDENTITY_SET,
    "error": {"code": "VARCHAR", "message": "VARCHAR"},
}

# A Graph list page: the device id is only in the URLs.
PAGE = {"@odata.context": "VARCHAR", "value": [OPERATION]}

MACROS = """
CREATE MACRO unset(t) AS nullif(t, TIMESTAMPTZ '0001-01-01 00:00:00+00');
CREATE MACRO identity(i) AS
    CASE WHEN i IS NULL THEN NULL
         ELSE struct_pack(id := i.id, display_name := i.displayName) END;
CREATE MACRO identity_set(s) AS
    CASE WHEN s IS NULL THEN NULL
         ELSE struct_pack("user" := identity(s."user"),
                          application := identity(s.application),
                          device := identity(s.device)) END;
CREATE MACRO normal_status(s) AS
    CASE lower(s)
        WHEN 'queued' THEN 'queued'
        WHEN 'scheduled' THEN 'scheduled'
        WHEN 'inprogress' THEN 'inProgress'
        WHEN 'successful' THEN 'successful'
        WHEN 'succeeded' THEN 'successful'
        WHEN 'failed' THEN 'failed'
        WHEN 'cancelled' THEN 'cancelled'
        WHEN 'canceled' THEN 'cancelled'
        ELSE s END;
"""


def sql_string(s):
    return "'" + s.replace("'", "''") + "'"


def sql_list(items):
    return "[" + ", ".join(sql_string(i) for i in items) + "]"


def sql_type(t):
    """A DuckDB type name from the JSON structure notation."""
    if isinstance(t, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {sql_type(v)}' for k, v in t.items()) + ")"
    if isinstance(t, list):
        return sql_type(t[0]) + "[]"
    return t


def columns_arg(columns):
    """The `columns` argument of read_json."""
    return "{" + ", ".join(f"{sql_string(k)}: {sql_string(sql_type(v))}" for k, v in columns.items()) + "}"


def source_ndjson(inputs):
    """One row per line, the operation's properties as columns."""
    cols = dict(OPERATION, deviceId="VARCHAR")
    return f"""
        SELECT *, deviceId AS device_id, filename AS source_file
        FROM read_json({sql_list(inputs)},
                       format = 'newline_delimited',
                       columns = {columns_arg(cols)},
                       filename = true)
    """


def pages_read_json(inputs):
    """One row per page file, read by read_json."""
    return f"""
        SELECT "@odata.context" AS context, value, filename
        FROM read_json({sql_list(inputs)},
                       format = 'unstructured',
                       columns = {columns_arg(PAGE)},
                       filename = true)
    """


def pages_read_text(inputs):
    """One row per page file: the file read whole, parsed by from_json."""
    structure = sql_string(json.dumps(PAGE))
    return f"""
        SELECT page."@odata.context" AS context, page.value, filename
        FROM (SELECT from_json(content, {structure}) AS page, filename
              FROM read_text({sql_list(inputs)}))
    """


def source_pages(inputs, reader):
    """One row per operation of every page's `value`, the device id from the URL."""
    pages = pages_read_text(inputs) if reader == "read_text" else pages_read_json(inputs)
    return f"""
        SELECT unnest(op),
               regexp_extract(context, 'devices\\(''([^'']+)''\\)/operations', 1) AS device_id,
               source_file
        FROM (SELECT context, unnest(value) AS op, filename AS source_file FROM ({pages}))
    """


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--format", choices=["ndjson", "pages"], required=True)
    ap.add_argument("--out", required=True, help="dataset folder (created)")
    ap.add_argument(
        "--pages-reader",
        choices=["read_text", "read_json"],
        default="read_text",
        help="how page files are read (default read_text: see the module documentation)",
    )
    ap.add_argument("inputs", nargs="+", help="files or glob patterns")
    args = ap.parse_args()

    started = time.perf_counter()
    out_dir = os.path.join(args.out, "operations")
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, "part-0.parquet")

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(MACROS)

    if args.format == "ndjson":
        source = source_ndjson(args.inputs)
    else:
        source = source_pages(args.inputs, args.pages_reader)
    query = f"""
        WITH raw AS ({source}),
        records AS (
            SELECT
                id,
                nullif(device_id, '') AS device_id,
                operationType AS operation_type,
                normal_status(status) AS status,
                status AS status_raw,
                unset(createdDateTime) AS created_date_time,
                unset(startedDateTime) AS started_date_time,
                unset(completedDateTime) AS completed_date_time,
                unset(lastActionDateTime) AS last_action_date_time,
                error,
                identity_set(createdBy) AS created_by,
                identity_set(lastActionBy) AS last_action_by,
                source_file
            FROM raw
            WHERE id IS NOT NULL AND id <> ''
        )
        SELECT
            id,
            coalesce(device_id, first_value(device_id IGNORE NULLS) OVER latest) AS device_id,
            operation_type, status, status_raw,
            created_date_time, started_date_time, completed_date_time, last_action_date_time,
            error, created_by, last_action_by, source_file,
            now() AS ingested_at
        FROM records
        WINDOW latest AS (PARTITION BY id ORDER BY last_action_date_time DESC NULLS LAST)
        QUALIFY row_number() OVER latest = 1
    """
    # zstd at level 1, as fleetops writes its Parquet files.
    rows = con.execute(
        f"COPY ({query}) TO {sql_string(target)} "
        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
    ).fetchone()[0]
    print(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
