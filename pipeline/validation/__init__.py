"""Validation: the raw partitions, per-day tables and window results in, Great Expectations
suites generated from the registry (``expectations``), their stored results
(``validation``) and their offline HTML pages (``pages``) out; a failed gate stops
publication."""
