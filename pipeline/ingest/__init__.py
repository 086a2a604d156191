"""Ingest: request logs and the accounts table in, per-day ``requests`` partitions, the
quarantine, the ledger and the accounts snapshot out (``ingest``, ``accounts``)."""
