"""Error hierarchy: one root, one base per stage, each able to explain itself.

A *finding* is what the scanner reports about a model; an *error* means modeltrust itself
could not do its job (bad arguments, unreadable target). Errors map to exit code 2.
"""

from __future__ import annotations


class Error(Exception):
    """Root of every error modeltrust raises on purpose."""

    def diagnostics(self) -> str:
        """Say what happened and what to try, in one or two lines for a person."""
        return str(self)


class UsageError(Error):
    """The caller asked for something that cannot be done (bad option, bad value)."""


class SourceError(Error):
    """A scan target could not be opened or listed at all."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target}: {reason}")
        self.target = target
        self.reason = reason

    def diagnostics(self) -> str:  # noqa: D102 - inherited
        return f"cannot read {self.target}: {self.reason}. Check the path and its permissions."


class ScanError(Error):
    """A scanner hit an internal problem it could not turn into a finding."""
