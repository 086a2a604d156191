"""The parts of a cluster's evidence report, one module each, in the order they print.

In: the document, the run's data, the cluster id and a way to attach rows. Out: pages of the
document, and the attached rows behind them.
"""
