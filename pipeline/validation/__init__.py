"""Validation: the raw partitions, per-day tables and window results in, Great Expectations
suites generated from the registry (``expectations``) and their stored results
(``validation``) out; a failed gate stops publication."""
