"""The output and rejects files: resumable, never a duplicate, a torn last line cut off."""

from __future__ import annotations

import json

import pytest

from reade.construct.ledger import Ledger
from reade.errors import DataError

IDS = {"a", "b", "c", "d"}


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_are_appended_and_the_ids_of_both_files_are_done_on_reopening(tmp_path):
    with Ledger(tmp_path / "out.jsonl", tmp_path / "rejects.jsonl").open(IDS) as ledger:
        ledger.write({"id": "a", "x": 1})
        ledger.reject({"id": "b", "reason": "malformed"})
    with Ledger(tmp_path / "out.jsonl", tmp_path / "rejects.jsonl").open(IDS) as ledger:
        assert (ledger.done, ledger.rejected, ledger.torn) == ({"a"}, {"b"}, 0)
        ledger.write({"id": "c"})
    assert [r["id"] for r in lines(tmp_path / "out.jsonl")] == ["a", "c"]


@pytest.mark.parametrize("torn", ['{"id": "b", "thi', '{"id": "b"}'])  # cut mid-row, or just before its newline
def test_a_torn_last_line_is_cut_off_and_its_row_is_not_done(tmp_path, torn):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a"}\n' + torn)
    with Ledger(out, tmp_path / "rejects.jsonl").open(IDS) as ledger:
        assert (ledger.done, ledger.torn) == ({"a"}, 1)
        ledger.write({"id": "b"})
    assert [r["id"] for r in lines(out)] == ["a", "b"]


def test_a_file_holding_only_a_torn_line_becomes_empty(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "thi')
    with Ledger(out, tmp_path / "rejects.jsonl").open(IDS) as ledger:
        assert ledger.done == set()
    assert out.read_text() == ""


@pytest.mark.parametrize(
    "content, problem",
    [
        ('{"id": "a"}\nnot json\n{"id": "b"}\n', r"out.jsonl:2: row: not a JSON object"),
        ('{"id": "a"}\n{"id": "a"}\n', r"out.jsonl:2: id: 'a' is missing, not a string or repeated"),
        ('{"x": 1}\n', r"out.jsonl:1: id: None"),
        ('{"id": "zz"}\n', r"1 id\(s\) the input lacks, e.g. \['zz'\]"),
    ],
)
def test_a_file_that_is_not_ours_is_refused_with_file_line_and_field(tmp_path, content, problem):
    (tmp_path / "out.jsonl").write_text(content)
    with pytest.raises(DataError, match=problem):
        Ledger(tmp_path / "out.jsonl", tmp_path / "rejects.jsonl").open(IDS)
    assert (tmp_path / "out.jsonl").read_text() == content  # refused, not repaired


def test_an_id_in_both_files_is_refused(tmp_path):
    (tmp_path / "out.jsonl").write_text('{"id": "a"}\n')
    (tmp_path / "rejects.jsonl").write_text('{"id": "a", "reason": "x"}\n')
    with pytest.raises(DataError, match="both hold ids"):
        Ledger(tmp_path / "out.jsonl", tmp_path / "rejects.jsonl").open(IDS)


def test_retry_rejects_takes_them_out_of_the_rejects_file(tmp_path):
    (tmp_path / "rejects.jsonl").write_text('{"id": "a", "reason": "x"}\n{"id": "b", "reason": "y"}\n')
    with Ledger(tmp_path / "out.jsonl", tmp_path / "rejects.jsonl").open(IDS, retry_rejects=True) as ledger:
        assert ledger.rejected == set()
    assert (tmp_path / "rejects.jsonl").read_text() == ""
