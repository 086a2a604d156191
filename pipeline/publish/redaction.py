"""Redaction of prompt excerpts before they are printed in an evidence report.

In: one prompt text. Out: the same text with every e-mail address, phone number,
API-key-like token, value of a ``password=`` / ``token:``-like assignment and long run of
digits replaced by a bracketed label (``[email]``, ``[phone]``, ``[key]``, ``[digits]``),
control and bidirectional-override characters removed, and the text cut to a length.

Reports carry no prompt text unless ``--excerpts N`` asks for it, and even then an
excerpt only has to show *what kind* of request the cluster sent (a templated sweep, a
chain-of-thought elicitation), never whom or what it names. The rules are regular
expressions applied in a fixed order: secrets first (a key may contain digits and
dashes a phone rule would half-match), then e-mails (in any script), then phones, then
digit runs. They
err on the side of removing too much: a version number ``2024-11-05-1234`` may lose its
tail, a customer's card number may not survive.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_KEY = re.compile(
    r"""(?x)
    \b(?:
        sk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_\-]{8,}   # Anthropic / OpenAI / Stripe style
      | (?:pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}             # Stripe publishable / restricted
      | AKIA[0-9A-Z]{16}                                    # AWS access key id
      | AIza[0-9A-Za-z_\-]{30,}                             # Google API key
      | gh[pousr]_[A-Za-z0-9]{20,}                          # GitHub tokens
      | xox[abposr]-[A-Za-z0-9\-]{10,}                      # Slack tokens
      | eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*   # JWT
    )
    | (?<![A-Za-z0-9])(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])
      [A-Za-z0-9_\-]{32,}(?![A-Za-z0-9])                    # long mixed token (hex, base64url)
    """
)
_ASSIGNED = re.compile(
    r"""(?xi)
    \b(?P<name>(?:[a-z0-9]+[_\-])*(?:password|passwd|pwd|passphrase|secret|token|api[_\-]?key
        |access[_\-]?key|private[_\-]?key|credentials?|auth))
    (?P<sep>\s*[=:]\s*)
    (?P<value>"[^"]*"|'[^']*'|[^\s,;&]+)
    """
)
_SECRET_B64 = re.compile(
    r"""(?x)
    (?<![A-Za-z0-9/+=])
    (?=[A-Za-z0-9/+=]*[0-9])(?=[A-Za-z0-9/+=]*[a-z])(?=[A-Za-z0-9/+=]*[A-Z])
    [A-Za-z0-9/+]{30,}={0,2}
    (?![A-Za-z0-9/+=])                                      # base64 secret: AWS secret key
    """
)
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")
_HIDDEN = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
"""Control characters (but tab and newline), zero-width characters and bidirectional
embeddings, overrides and isolates: they can reorder or hide what a report shows."""
_PHONE = re.compile(
    r"""(?x)
    (?<![\w+])
    (?:\+\d{1,3}[\s.\-]?)?            # country code
    (?:\(\d{1,4}\)[\s.\-]?)?          # area code in brackets
    \d{2,4}(?:[\s.\-]\d{2,4}){1,4}    # groups separated by space, dot or dash
    (?!\w)
    """
)
_DIGITS = re.compile(r"\d{6,}")
_PHONE_MIN_DIGITS = 7
"""A phone-shaped match with fewer digits (``12 34``, ``1.5 2.5``) is left alone."""

def _phone_or_keep(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if digits >= _PHONE_MIN_DIGITS else match.group(0)


REDACTIONS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_ASSIGNED, r"\g<name>\g<sep>[key]"),
    (_KEY, "[key]"),
    (_SECRET_B64, "[key]"),
    (_EMAIL, "[email]"),
    (_PHONE, _phone_or_keep),
    (_DIGITS, "[digits]"),
)
"""Pattern and replacement, in the order they are applied."""


def redact(text: str, *, max_chars: int | None = 400) -> str:
    """``text`` with secrets and personal identifiers replaced, folded to one line and
    cut to ``max_chars`` characters (an ellipsis marks the cut)."""
    folded = " ".join(strip_hidden(text).split())
    for pattern, replacement in REDACTIONS:
        folded = pattern.sub(replacement, folded)
    if max_chars is not None and len(folded) > max_chars:
        folded = folded[: max_chars - 1].rstrip() + "…"
    return folded


def strip_hidden(text: str) -> str:
    """``text`` without the characters that can reorder or hide what is printed: every
    string from the logs (user agents, domains, prompts) passes here before a PDF shows it."""
    return _HIDDEN.sub("", text)
