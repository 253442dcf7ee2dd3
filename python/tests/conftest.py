"""Shared fixtures: the command-line binary the answers are compared with,
sample-data, and datasets ingested once per session."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-data"


def _binary() -> Path:
    given = os.environ.get("FLEETOPS_BIN")
    if given:
        return Path(given)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "fleetops"


@pytest.fixture(scope="session")
def cli():
    """Runs the fleetops command line; returns its stdout (fails the test on
    a non-zero exit)."""
    binary = _binary()
    if not binary.exists():
        pytest.fail(f"no fleetops binary at {binary}: build it, or set FLEETOPS_BIN")

    def run(*args: str | os.PathLike[str]) -> str:
        done = subprocess.run(
            [str(binary), *map(str, args)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"fleetops {args}: {done.stderr}"
        return done.stdout

    return run


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """sample-data ingested by the Python module."""
    import fleetops

    out = tmp_path_factory.mktemp("py") / "fleet"
    fleetops.ingest(SAMPLE, out)
    return out


@pytest.fixture(scope="session")
def cli_dataset(tmp_path_factory, cli) -> tuple[Path, dict]:
    """sample-data ingested by the command line, and its `--json` counts."""
    out = tmp_path_factory.mktemp("cli") / "fleet"
    counts = json.loads(cli("ingest", SAMPLE, "--out", out, "--json"))
    return out, counts


@pytest.fixture(scope="session")
def ctx(dataset):
    import fleetops

    return fleetops.context(dataset)
