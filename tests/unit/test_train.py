"""Resolving `ckpt_path` before a run starts: `last` means this run folder's last.ckpt."""

from __future__ import annotations

import pytest

from reade.errors import ReadeError
from reade.train import _resume_path


def test_last_is_the_run_folders_last_checkpoint(tmp_path):
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    last.write_bytes(b"x")
    assert _resume_path("last", tmp_path) == str(last)
    assert _resume_path(str(last), tmp_path / "elsewhere") == str(last)
    assert _resume_path(None, tmp_path) is None


@pytest.mark.parametrize("ckpt_path, message", [("last", "last.ckpt does not exist"), ("nowhere.ckpt", "no such file")])
def test_missing_checkpoint_is_a_clear_error(tmp_path, ckpt_path, message):
    with pytest.raises(ReadeError, match=message):
        _resume_path(ckpt_path, tmp_path)
