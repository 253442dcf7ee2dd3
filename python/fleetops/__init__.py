"""fleetops in Python: ingest Microsoft Teams device operation exports, query
them with fleetops' SQL functions in datafusion-python, and build the fleet
reliability report and the named queries of the command line.

    import fleetops
    fleetops.ingest("exports/", "fleet/")            # the counts of `ingest --json`
    ctx = fleetops.context("fleet/")                 # a datafusion.SessionContext
    ctx.sql("SELECT operation_type, failure_rate(status) AS fr "
            "FROM operations GROUP BY 1").to_pandas()
    fleetops.run("top_failing_devices", "fleet/", since="30d").to_pandas()
    fleetops.report("fleet/", since="7d")             # the JSON report as a dict

The functions reach datafusion-python through the DataFusion FFI, which is
tied to DataFusion's major version: this package needs datafusion 55.x.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterable
from typing import Any, Literal

import datafusion as _df
import pyarrow as _pa

_DATAFUSION_MAJOR = "55"
_installed = getattr(_df, "__version__", "unknown")
if _installed.split(".")[0] != _DATAFUSION_MAJOR:
    raise ImportError(
        f"fleetops needs datafusion {_DATAFUSION_MAJOR}.x (its functions load through the "
        f"FFI of DataFusion {_DATAFUSION_MAJOR}), but datafusion {_installed} is installed; "
        f"install it with: pip install 'datafusion=={_DATAFUSION_MAJOR}.*'"
    )

from . import _fleetops

Error = _fleetops.Error
__version__: str = _fleetops.__version__

__all__ = [
    "Error",
    "context",
    "functions",
    "ingest",
    "queries",
    "register",
    "report",
    "run",
]

PathLike = str | os.PathLike[str]
Paths = PathLike | Iterable[PathLike]
Key = str | bytes | None


def _paths(value: Paths, what: str) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    try:
        paths = [os.fspath(p) for p in value]
    except TypeError:
        raise TypeError(
            f"{what} must be a path or a list of paths, not {type(value).__name__}"
        ) from None
    if not paths:
        raise Error(f"invalid argument: {what} needs a dataset folder or export files")
    return paths


def _key(redact_key: Key) -> bytes | None:
    if redact_key is None:
        return None
    if isinstance(redact_key, str):
        return redact_key.encode()
    if isinstance(redact_key, (bytes, bytearray)):
        return bytes(redact_key)
    raise TypeError(f"redact_key must be str or bytes, not {type(redact_key).__name__}")


def _when(value: str | _dt.datetime | _dt.date | None, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    raise TypeError(
        f"{what} must be text such as '7d' or '2026-11-01', a date or a datetime"
    )


def ingest(
    inputs: Paths,
    out: PathLike,
    *,
    keep_going: bool = False,
    redact_key: Key = None,
    threads: int = 0,
    memory_budget: int | None = None,
    wait: bool = False,
    progress: Callable[[int, int], Any] | None = None,
) -> dict[str, int]:
    """Ingest export files and folders into the dataset folder ``out``.

    The same run as ``fleetops ingest INPUTS --out OUT --json``, and the same
    counts: ``files``, ``records``, ``rows``, ``duplicates``, ``rejected``,
    ``repaired``, ``failed_files`` (records = rows + duplicates + rejected).
    Rejected records and their reasons go to ``OUT/_rejects/``.

    Args:
        inputs: a file or folder, or a list of them (gzip, NDJSON, Graph pages...).
        out: the dataset folder (created, or added to).
        keep_going: skip unreadable files (reported as warnings) instead of failing.
        redact_key: pseudonymise names and ids with this key (16+ bytes, or hex).
        threads: decoding threads (0: one per core).
        memory_budget: bytes of memory for rows (default 320 MiB).
        wait: wait for another ingest into ``out`` instead of failing.
        progress: called as ``progress(bytes_read, files_done)`` while reading;
            an exception it raises stops the run and is raised here.

    The GIL is released while it runs. Ctrl-C (a kernel interrupt) or an
    exception from ``progress`` stops it before it commits: the dataset is
    left as it was, and ``KeyboardInterrupt`` (or that exception) is raised.

    Raises:
        fleetops.Error: the command line's one-line message.
    """
    return _fleetops.ingest(
        _paths(inputs, "inputs"),
        os.fspath(out),
        keep_going,
        _key(redact_key),
        threads,
        memory_budget,
        wait,
        progress,
    )


def register(ctx: _df.SessionContext) -> _df.SessionContext:
    """Register every fleetops SQL function on a ``datafusion.SessionContext``.

    The scalar functions (``op_duration_seconds``, ``op_queue_seconds``,
    ``is_terminal``, ``is_failed``) and the aggregates (``failure_rate``,
    ``op_percentile``, with their grouped accumulators) and the table function
    ``operation_type_stats()`` are fleetops' own, loaded through the DataFusion
    FFI. ``operation_type_stats()`` reads the ``operations`` table of ``ctx``
    as it is when the query runs (any table of the fleetops schema: one from
    :func:`context`, a Parquet file, an Arrow table) and aggregates it in
    fleetops. Returns ``ctx``.
    """
    if not isinstance(ctx, _df.SessionContext):
        raise TypeError(
            f"register needs a datafusion.SessionContext, not {type(ctx).__name__}"
        )
    for f in _fleetops.scalar_functions():
        ctx.register_udf(_df.udf(f))
    for f in _fleetops.aggregate_functions():
        ctx.register_udaf(_df.udaf(f))
    for name, f in _fleetops.table_functions():
        ctx.register_udtf(_df.udtf(f, name))
    return ctx


def context(data: Paths, *, redact_key: Key = None) -> _df.SessionContext:
    """A ``datafusion.SessionContext`` over ``data``, like ``--data``.

    ``data`` is a dataset folder written by ``ingest``, or export files and
    folders (ingested in memory). The context has the tables ``operations``
    and ``rejects`` and every fleetops function (see :func:`register`);
    ``information_schema`` is on. With ``redact_key``, names and ids are
    pseudonymised before any query sees them.
    """
    operations, rejects = _fleetops.context_tables(
        _paths(data, "data"), _key(redact_key)
    )
    ctx = _df.SessionContext(_df.SessionConfig().with_information_schema(True))
    ctx.register_table("operations", operations)
    ctx.register_table("rejects", rejects)
    return register(ctx)


def report(
    data: Paths,
    *,
    since: str | _dt.datetime | _dt.date | None = None,
    until: str | _dt.datetime | _dt.date | None = None,
    stuck_after: str | None = None,
    top: int = 10,
    format: Literal["json", "md", "html"] = "json",
    redact_key: Key = None,
) -> Any:
    """The fleet reliability report of ``fleetops report``.

    ``since`` and ``until`` take what the command line takes (``7d``,
    ``2026-11-01``, ``2026-11-01T08:00:00Z``) or a date or datetime;
    by default the last seven days of the data. Returns a dict for
    ``format="json"`` (layout ``version`` 2, docs/reports.md) and the text
    for ``"md"`` and ``"html"``.
    """
    text = _fleetops.report(
        _paths(data, "data"),
        _when(since, "since"),
        _when(until, "until"),
        stuck_after,
        top,
        format,
        _key(redact_key),
    )
    if format == "json":
        import json

        return json.loads(text)
    return text


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return f"{value.total_seconds()}s"
    return str(value)


def run(
    name: str,
    data: Paths,
    *,
    queries_dir: PathLike | None = None,
    redact_key: Key = None,
    **params: Any,
) -> _pa.Table:
    """Run the named query ``name`` over ``data``; returns a ``pyarrow.Table``.

    Parameters are keyword arguments (``since="30d"``, ``limit=5``), checked
    as ``fleetops run NAME --param k=v`` checks them. ``queries_dir`` adds
    the ``.sql`` files of a folder to the built-in queries.
    """
    stream = _fleetops.run(
        name,
        _paths(data, "data"),
        [(k, _param(v)) for k, v in params.items()],
        None if queries_dir is None else os.fspath(queries_dir),
        _key(redact_key),
    )
    return _pa.table(stream)


def queries(queries_dir: PathLike | None = None) -> list[dict[str, Any]]:
    """The named queries with their title, description and parameters."""
    return _fleetops.queries(None if queries_dir is None else os.fspath(queries_dir))


def functions() -> list[dict[str, str]]:
    """Every fleetops SQL function: name, kind, signature, description,
    NULL behaviour and an example (what ``fleetops functions`` prints)."""
    return _fleetops.functions()
