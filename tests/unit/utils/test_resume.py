"""Resuming an append-only JSONL output: the ids it holds, a torn last line dropped, and every file
that is not this run's output refused with its lines named."""

from __future__ import annotations

import pytest

from reade.errors import DataError
from reade.utils.resume import finished_ids

WANTED = {"a", "b", "c"}


def check_origin(record):
    return None if record.get("by") == "us" else ("by", f"made by {record.get('by')!r}")


def test_a_missing_file_holds_nothing(tmp_path):
    assert finished_ids(tmp_path / "out.jsonl", WANTED, row_kind="a row", remedy="pick another") == (set(), 0)


def test_ids_are_read_and_a_torn_last_line_is_cut(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a", "by": "us"}\n\n{"id": "b", "by": "us"}\n{"id": "c", "by"')
    assert finished_ids(path, WANTED, row_kind="a row", remedy="pick another", check=check_origin) == ({"a", "b"}, 1)
    assert path.read_text() == '{"id": "a", "by": "us"}\n\n{"id": "b", "by": "us"}\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"id": "a", "by": "us"}\n[1, 2]\n', "out.jsonl:2: row: not a row; the file was edited or is not ours"),
        ("not json\n", "out.jsonl:1: row: not a row"),
        ('{"by": "us"}\n', "out.jsonl:1: id: None is missing, not a string or repeated"),
        ('{"id": "a", "by": "us"}\n{"id": "a", "by": "us"}\n', "out.jsonl:2: id: 'a' is missing, not a string or repeated"),
        ('{"id": "a", "by": "them"}\n', "out.jsonl:1: by: made by 'them'"),
        ('{"id": "zz", "by": "us"}\n', "out.jsonl:0: id: 1 id(s) the input lacks, e.g. ['zz']: the file belongs to another input"),
    ],
)
def test_what_is_not_this_runs_output_is_refused_and_left_as_it_was(tmp_path, text, problem):
    path = tmp_path / "out.jsonl"
    path.write_text(text)
    with pytest.raises(DataError) as error:
        finished_ids(path, WANTED, row_kind="a row", remedy="pick another", check=check_origin)
    assert f"{path}: cannot resume from this file; pick another" in str(error.value)
    assert problem in str(error.value)
    assert path.read_text() == text
