"""Features: one day's ``requests`` partition in, the per-day tables (``sql/features/``) out,
and the views that read every day of them."""
