"""Detection: clusters and the window's per-day tables in, each cluster's statistics against
the population (``statistics``, one file per rule in ``rules/``) and its verdict
(``scoring``) out."""
