"""Provenance of a run's outputs: which SQL made them (the code version is
``pipeline.version``, which ``--version`` reads without this module's DuckDB).

In: ``sql/``. Out: sha256 of a file and the SQL files' hashes, which the manifest records
and the reports print.
"""

from __future__ import annotations

from functools import cache

from pipeline.warehouse import SQL_DIR, sha256_file, sql_files


@cache
def sql_hashes() -> dict[str, str]:
    """sha256 of the tables' SQL (each stage's ``sql/<stage>/*.sql`` and the shared
    macros), by path under ``sql/``. The queries in folders of their own (the reports',
    the indicators', the investigator's) read a finished run and make no table; they are
    part of the code version."""
    return {path.relative_to(SQL_DIR).as_posix(): sha256_file(path)
            for name, path in sorted(sql_files().items()) if "/" not in name}
