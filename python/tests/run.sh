#!/usr/bin/env bash
# Runs the Python module's tests (pytest, and the example notebook) against
# the extension Cargo already built, without building it again.
#
#   python/tests/run.sh
#
# CARGO_TARGET_DIR  where `cargo build --workspace` put lib_fleetops.so and the
#                   fleetops binary (default: target/)
# FLEETOPS_VENV     the Python virtualenv, created when missing
#                   (default: $HOME/.cache/fleetops-venv)
#
# The package is staged as fleetops/ (its Python files and the built
# extension) in a temporary folder on PYTHONPATH: what `pip install ./python`
# installs, without maturin's second (release) build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=${FLEETOPS_VENV:-$HOME/.cache/fleetops-venv}
lib="$target/debug/lib_fleetops.so"
export FLEETOPS_BIN=${FLEETOPS_BIN:-$target/debug/fleetops}

for f in "$lib" "$FLEETOPS_BIN"; do
    if [ ! -e "$f" ]; then
        echo "python tests: no $f (run cargo build --workspace first)" >&2
        exit 2
    fi
done

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# Pinned: the versions the tests were written against.
requirements=(
    "datafusion==55.0.0" "pyarrow==26.0.1" "pandas==3.1.1" "polars==2.1.0"
    "matplotlib==3.11.2" "pytest==9.2.0" "nbclient==0.11.0" "nbformat" "ipykernel==7.4.0"
)
if ! "$venv/bin/python" - "${requirements[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
pins = [r.split("==") for r in sys.argv[1:] if "==" in r]
sys.exit(0 if all(version(name) == want for name, want in pins) else 1)
PY
then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/fleetops"
cp "$root"/python/fleetops/*.py "$root"/python/fleetops/*.pyi "$root/python/fleetops/py.typed" "$stage/fleetops/"
cp "$lib" "$stage/fleetops/_fleetops.abi3.so"

# No network: the notebook and the tests read only local files.
cd "$root"
PYTHONPATH="$stage" "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here" "$@"
