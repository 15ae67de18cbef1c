"""Entry points end a user's error with its message and exit status 2, and nothing else changes."""

from __future__ import annotations

import logging

import pytest

from reade.errors import DataError, exit_on_user_error

log = logging.getLogger("reade.test")


def test_a_user_error_is_logged_and_exits_with_status_2(caplog):
    with pytest.raises(SystemExit) as stop, caplog.at_level(logging.ERROR):
        with exit_on_user_error(log):
            raise DataError("rows.jsonl: 1 problem", ["rows.jsonl:3: id: repeated"])
    assert stop.value.code == 2
    assert "rows.jsonl: 1 problem\n  rows.jsonl:3: id: repeated" in caplog.text


def test_other_exceptions_keep_their_traceback():
    with pytest.raises(KeyError):
        with exit_on_user_error(log):
            raise KeyError("a bug, not the user's")


def test_a_body_without_error_runs_through():
    with exit_on_user_error(log):
        done = True
    assert done
