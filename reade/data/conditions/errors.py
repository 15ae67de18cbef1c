"""The one error type every condition reader raises, so a loader can name file and fault in one line."""

from __future__ import annotations

from pathlib import Path


class ConditionError(ValueError):
    """A condition file that is missing, unreadable or malformed; the message starts with its path."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


def require_file(path: Path) -> None:
    """Fail with the path before a parser does so with a message that hides it."""
    if not path.exists():
        raise ConditionError(path, "file not found")
    if not path.is_file():
        raise ConditionError(path, "is not a regular file")
