#!/usr/bin/env python3
"""Runs one query file with DuckDB over a dataset's Parquet files, for benches/compare.

    duckdb_query.py --data DIR --output FILE.csv QUERY.sql

`operations` is a view over DIR/operations/*.parquet (what
duckdb_ingest.py writes); the session time zone is UTC. The result is
written as CSV with a header (NULL as an empty field), as
`fleetops sql --format csv` writes it. Prints one JSON line:
{"rows": N, "seconds": S} (S: time inside this process, import excluded).
"""

import argparse
import json
import os
import sys
import time

started_import = time.perf_counter()
import duckdb  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - started_import


def sql_string(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dataset folder")
    ap.add_argument("--output", required=True, help="CSV file to write")
    ap.add_argument("query", help="file holding one SELECT statement")
    args = ap.parse_args()

    with open(args.query, encoding="utf-8") as f:
        query = f.read().strip().rstrip(";")

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = os.path.join(args.data, "operations", "*.parquet")
    con.execute(f"CREATE VIEW operations AS SELECT * FROM read_parquet({sql_string(files)})")
    rows = con.execute(
        f"COPY ({query}\n) TO {sql_string(args.output)} (FORMAT csv, HEADER)"
    ).fetchone()[0]
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": round(time.perf_counter() - started, 6),
                "import_seconds": round(IMPORT_SECONDS, 6),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
