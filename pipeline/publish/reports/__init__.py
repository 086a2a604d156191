"""PDF evidence reports: one per flagged cluster, and the run's summary.

In: an open ``forensics.duckdb`` connection (the caller holds the output lock and owns the
database; this package only reads it, plus temporary tables it drops again) and the run's
parameters. Out: ``reports/<cluster_id>.pdf`` for every cluster whose verdict in
``cluster_findings`` is ``flagged``, and ``reports/summary.pdf``; each written under a
temporary name and renamed into place, and reports of clusters no longer flagged removed.

A report accuses a customer, so it is written for an auditor who never saw the code:
plain words first (what was found, the figures, the evidence families that hold), then
one section per evidence family with charts and tables, then appendices with every
statistic and every account, then provenance (input hashes, parameters, code version, SQL
hashes, validation) and how to re-derive and verify. Every figure is read from a table of
``forensics.duckdb``; every chart and table names that table, the "Data sources" appendix
maps each section to its tables, and the rows behind each section are attached to the PDF
as CSV files, so the report carries its own data.

Sections whose source table is missing in a run (the statistics stage's per-cluster
tables, a validation stage) print a "not available in this run" line naming the table;
they never print an invented number. The optional tables are listed in
``data.OPTIONAL_TABLES``; the queries that read them are in ``sql/publish/reports/``.

The documents are PDF/A-3B (fpdf2 ``enforce_compliance``) with DejaVu Sans embedded, and
byte-identical for the same inputs and parameters: the creation date is the run's
``generated_at``, the XMP packet is written by ``document`` (fpdf2 would put the clock in
it), charts are deterministic SVG (``pipeline.publish.charts``), rows are always read in a total
order, and nothing prints the run id (it contains the clock).
"""

from pipeline.publish.reports.write import write_reports

__all__ = ["write_reports"]
