"""``pipeline.warehouse``'s bounded connections, on real DuckDB connections: a stage's
connection keeps to its memory ceiling, spills inside the output folder, and gives back
what a finished query freed."""

from __future__ import annotations

import os

import pytest

from pipeline.errors import ForensicsError
from pipeline.settings import ENV_MEMORY_LIMIT
from pipeline.warehouse import DB_NAME, bounded_connection, release_buffers

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def test_a_bounded_connection_to_a_database_spills_in_the_output_folder_and_cleans_up(
        tmp_path):
    with bounded_connection(tmp_path, "spill-window", "512MiB",
                            database=tmp_path / DB_NAME) as db:
        limit, spill = db.execute("SELECT current_setting('memory_limit'), "
                                  "current_setting('temp_directory')").fetchall()[0]
        assert limit == "512.0 MiB"
        assert spill.startswith(str(tmp_path)) and "spill-window" in spill
        assert os.path.isdir(spill)
    assert not os.path.exists(spill)
    assert (tmp_path / DB_NAME).is_file()


def test_released_buffers_go_back_to_the_system_and_the_ceiling_stays(tmp_path):
    """DuckDB keeps what a finished sort freed, up to its ceiling; released, the process
    is about as large as before the query."""
    with bounded_connection(tmp_path, "spill", "1GiB") as db:
        before = _rss_mib()
        db.sql("SELECT count(*), sum(length(s)) FROM (SELECT i, repeat('x', 1 + i % 50) AS s "
               "FROM range(3000000) AS t(i) ORDER BY hash(i))").fetchall()
        held = _rss_mib() - before
        release_buffers(db)
        after = _rss_mib() - before
        assert held > 100, "the sort should leave buffers held for this test to mean anything"
        assert after < held / 2
        assert db.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "1.0 GiB"


def test_a_query_that_cannot_spill_stops_the_stage_naming_its_ceiling_and_the_remedy(tmp_path):
    """One list of twenty million numbers cannot be cut into pieces to spill."""
    with (pytest.raises(ForensicsError, match=f"ceiling of 32MiB.*{ENV_MEMORY_LIMIT} higher"),
          bounded_connection(tmp_path, "spill", "32MiB") as db):
        db.sql("SELECT length(list(i)) FROM range(20000000) AS r(i)").fetchall()
    assert not list(tmp_path.glob("*spill*"))
