#!/usr/bin/env bash
# Checks that pyarrow and DuckDB read what fleetops writes, values included.
#
#   tests/interop/run.sh
#
# FLEETOPS_BIN      the fleetops binary (default: $CARGO_TARGET_DIR/debug/fleetops,
#                   or target/debug/fleetops)
# FLEETOPS_VENV     the Python virtualenv, created when missing
#                   (default: $HOME/.cache/fleetops-venv)
#
# Exports the result of query.sql over tests/fixtures/cli in every file format,
# ingests the same fixtures into a dataset folder, then runs check_exports.py.
# Exits non-zero on any mismatch.
set -euo pipefail

PYARROW_VERSION=26.0.1
DUCKDB_VERSION=2.0.1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${FLEETOPS_VENV:-$HOME/.cache/fleetops-venv}
bin=${FLEETOPS_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/fleetops}

if [ ! -x "$bin" ]; then
    echo "interop: no fleetops binary at $bin (run cargo build, or set FLEETOPS_BIN)" >&2
    exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" - "$PYARROW_VERSION" "$DUCKDB_VERSION" <<'EOF' 2>/dev/null
import sys
import duckdb, pyarrow
sys.exit(0 if (pyarrow.__version__, duckdb.__version__) == tuple(sys.argv[1:3]) else 1)
EOF
then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "pyarrow==$PYARROW_VERSION" "duckdb==$DUCKDB_VERSION"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/fleetops.log
fixtures=$root/tests/fixtures/cli
query=$(cat "$here/query.sql")

fail() {
    echo "interop: $1" >&2
    cat "$log" >&2
    exit 1
}

mkdir -p "$work/exports"
for format in parquet arrow csv json ndjson; do
    "$bin" sql "$query" --data "$fixtures" --format "$format" \
        --output "$work/exports/query.$format" 2>>"$log" \
        || fail "fleetops sql --format $format failed"
done
"$bin" ingest "$fixtures" --out "$work/dataset" --json >/dev/null 2>>"$log" \
    || fail "fleetops ingest failed"

"$venv/bin/python" "$here/check_exports.py" --exports "$work/exports" --dataset "$work/dataset"
