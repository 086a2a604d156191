"""Frames for Great Expectations: DuckDB relations as pandas through Arrow.

In: a DuckDB connection and a table, view or ``read_parquet`` source; the registry's
column types. Out: pandas frames (a zero-row frame of every column for a schema batch; only
the columns some rule reads for a values batch) and the dtype each registry type has after
the same conversion, which the schema suites expect.

GX's SQL data source does not work on DuckDB, so frames go DuckDB -> Arrow -> pandas:
strings keep Arrow-backed dtypes (not copied into Python objects), numbers of a values
batch become the numpy dtypes GX compares vectorized, and a NULL stays distinct from a NaN
(``to_pandas``). pandas and pyarrow are imported where used ("slow"), as everywhere in this
package, so that importing it stays cheap.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import duckdb

from pipeline.validation.expectations import Rule
from pipeline.warehouse import connect

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def to_pandas(relation: duckdb.DuckDBPyRelation, *, exact: bool = True) -> pd.DataFrame:
    """DuckDB to pandas through Arrow.

    ``exact``: every column keeps its Arrow dtype (the schema suites compare exact types).
    Otherwise strings keep Arrow dtypes (no copies into Python objects) and the other
    columns become numpy columns, which GX compares with bounds vectorized instead of
    value by value in Python (10 M calls, 9 s of the ``seedday`` window gate), which it
    does for int64 and float64 only: integers widen to int64 (a UBIGINT stays as it is),
    or become float64 with NULLs (where NULL is the only NaN there can be), and so does a
    float column without NaN. A float column holding a NaN keeps its Arrow dtype, where a
    NaN is a value and not a NULL, so a bound still sees it.
    """
    import pandas as pd  # slow: module docstring
    import pyarrow as pa  # slow: module docstring
    import pyarrow.compute as pc  # slow: module docstring

    table = relation.to_arrow_table()

    def mapper(kind: pa.DataType) -> pd.ArrowDtype | None:
        keep = exact or pa.types.is_string(kind) or pa.types.is_large_string(kind) \
            or pa.types.is_floating(kind)
        return pd.ArrowDtype(kind) if keep else None

    frame = table.to_pandas(types_mapper=mapper)
    if not exact:
        for name, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_floating(column.type) and not pc.any(pc.is_nan(column)).as_py():
                frame[name] = column.to_numpy(zero_copy_only=False).astype("float64")
            elif _fits_int64(column.type) and column.null_count == 0:
                frame[name] = frame[name].astype("int64")
    return frame


def _fits_int64(kind: pa.DataType) -> bool:
    """Whether every value of an integer type is an int64 (a UBIGINT, such as a hash, is
    not: widened, its upper half would wrap to negative numbers)."""
    import pyarrow as pa  # slow: module docstring

    return pa.types.is_signed_integer(kind) or (pa.types.is_unsigned_integer(kind)
                                                and kind.bit_width < 64)


def schema_frame(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """A zero-row frame of every column of ``source`` (a table name or a read_parquet call
    on a path), with the dtypes its rows would have."""
    return to_pandas(con.sql(f"SELECT * FROM {source} LIMIT 0"))


def values_frame(con: duckdb.DuckDBPyConnection, source: str, rules: tuple[Rule, ...],
                  keep: tuple[str, ...]) -> pd.DataFrame:
    """Only the columns some rule reads (and the index columns that name failing rows)."""
    columns = list(dict.fromkeys((*keep, *(c for r in rules for c in r.needed))))
    return to_pandas(con.sql(f"SELECT {', '.join(columns)} FROM {source}"), exact=False)


def expected_dtypes(columns: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The pandas dtype each registry type has after the same DuckDB -> Arrow conversion."""
    by_kind = _dtypes_of(tuple(sorted({kind for _, kind in columns})))
    return {name: by_kind[kind] for name, kind in columns}


@cache
def _dtypes_of(kinds: tuple[str, ...]) -> dict[str, str]:
    """Probed once per set of types and process: a probe is a DuckDB connection (with the
    shared macros), and a gate checks a dozen files of the same few types."""
    con = connect()
    try:
        probe = to_pandas(con.sql(
            "SELECT " + ", ".join(f"NULL::{k} AS c{i}" for i, k in enumerate(kinds))))
        return {k: str(probe[f"c{i}"].dtype) for i, k in enumerate(kinds)}
    finally:
        con.close()
