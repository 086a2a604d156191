"""Linking: the window's per-day tables in, shared evidence against the window's null, the
account graph, clusters and their lineage out (``linking``, ``surprise``, ``lineage``)."""
