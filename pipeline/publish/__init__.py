"""Publish: a validated run in, the findings, the PDF reports (``reports/``), the STIX
indicators, the manifest and the publication history out."""
