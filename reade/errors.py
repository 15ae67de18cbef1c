"""Errors that are the user's to fix (bad data, bad config).

Entry points print them as a plain message and exit non-zero, without a traceback from inside
Lightning or Hydra: the message already names the file, line and field (`exit_on_user_error`).
"""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class ReadeError(Exception):
    """Base class for problems in the user's input or configuration."""


class DataError(ReadeError):
    """One or more rows of a dataset are unusable; `problems` lists each with file, line and field."""

    def __init__(self, summary: str, problems: list | None = None, shown: int = 50):
        self.problems = list(problems or [])
        lines = [summary] + [f"  {p}" for p in self.problems[:shown]]
        if len(self.problems) > shown:
            lines.append(f"  ... and {len(self.problems) - shown} more")
        super().__init__("\n".join(lines))


class ConfigError(ReadeError):
    """A configuration that composes but cannot run (e.g. conditions for a text-only backbone)."""


class JudgeError(ReadeError):
    """The judge gives too few verdicts to train on (its server, model or memory is the user's to fix)."""


@contextmanager
def exit_on_user_error(log: logging.Logger) -> Iterator[None]:
    """An entry point's body: a ReadeError ends the command with its message (to the console and
    the run's log file) and exit status 2; any other exception keeps its traceback."""
    try:
        yield
    except ReadeError as error:
        log.error("%s", error)
        sys.exit(2)
