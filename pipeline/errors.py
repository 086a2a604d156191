"""User-facing failures: the CLI prints their message on one line and exits non-zero.

Anything else that escapes is a bug and keeps its traceback.
"""


class ForensicsError(Exception):
    """A problem with the user's input, parameters or output folder, not with the code."""

    exit_code = 2


class OutputLocked(ForensicsError):
    """Another run holds the output folder."""

    exit_code = 3


class BadInputCeiling(ForensicsError):
    """A day's share of quarantined rows passed the configured ceiling."""

    exit_code = 4


class ValidationFailed(ForensicsError):
    """A validation suite failed: nothing is published from the data it checked."""

    exit_code = 5


class ShortDay(ForensicsError):
    """A day of the range kept no rows, or far fewer than the days before it: a log
    shipping outage, not a quiet night. Nothing is published."""

    exit_code = 6
