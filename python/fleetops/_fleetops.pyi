"""The native part of fleetops (see the package for the documented calls)."""

from collections.abc import Callable
from typing import Any

__version__: str

class Error(Exception):
    """A fleetops failure, with the command line's one-line message."""

class ScalarFunction:
    @property
    def name(self) -> str: ...
    def __datafusion_scalar_udf__(self) -> object: ...

class AggregateFunction:
    @property
    def name(self) -> str: ...
    def __datafusion_aggregate_udf__(self) -> object: ...

class Table:
    def __datafusion_table_provider__(self, session: Any) -> object: ...

class TableFunction:
    def __datafusion_table_function__(self, session: Any) -> object: ...

class ArrowStream:
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

def ingest(
    inputs: list[str],
    out: str,
    keep_going: bool,
    redact_key: bytes | None,
    threads: int,
    memory_budget: int | None,
    wait: bool,
    progress: Callable[[int, int], Any] | None,
) -> dict[str, int]: ...
def scalar_functions() -> list[ScalarFunction]: ...
def aggregate_functions() -> list[AggregateFunction]: ...
def table_functions() -> list[tuple[str, TableFunction]]: ...
def functions() -> list[dict[str, str]]: ...
def context_tables(
    data: list[str], redact_key: bytes | None
) -> tuple[Table, Table]: ...
def report(
    data: list[str],
    since: str | None,
    until: str | None,
    stuck_after: str | None,
    top: int,
    format: str,
    redact_key: bytes | None,
) -> str: ...
def run(
    name: str,
    data: list[str],
    params: list[tuple[str, str]],
    queries_dir: str | None,
    redact_key: bytes | None,
) -> ArrowStream: ...
def queries(queries_dir: str | None) -> list[dict[str, Any]]: ...
