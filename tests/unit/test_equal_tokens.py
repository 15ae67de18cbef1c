"""experiments/table6/equal_tokens: the no-CoT steps that carry the CoT recipe's target tokens,
checked against hand-counted rows, and a bad training file refused by its line."""

import re

import pytest

from experiments.table6.equal_tokens import equal_token_steps, expected_target_tokens, main, split_rows
from reade.data.collate import describe_row
from reade.errors import DataError


def words(text: str) -> int:
    return len(text.split())


def test_a_describable_row_counts_its_describe_target_at_the_describe_fraction():
    plain = {"target": "a b c", "conditions": []}
    described = {"target": "a b c d e", "conditions": [{"kind": "depth", "path": "d.npy", "description": "a wall"}]}
    describe = words(describe_row(described)["target"])
    assert expected_target_tokens([plain, described], words, 0.2) == pytest.approx((3 + 0.2 * describe + 0.8 * 5) / 2)
    assert expected_target_tokens([plain, described], words, 0.0) == pytest.approx(4.0)


def test_a_condition_without_a_description_keeps_the_row_a_caption_row():
    row = {"target": "a b", "conditions": [{"kind": "depth", "path": "d.npy", "description": None}]}
    assert expected_target_tokens([row], words, 1.0) == 2.0


@pytest.mark.parametrize(("steps", "cot", "answer", "expected"), [
    (3000, 250.0, 125.0, 6000),
    (3000, 100.0, 300.0, 1000),
    (400, 241.3, 120.0, 804),  # 804.33 rounds down
])
def test_the_steps_scale_with_the_ratio_of_target_tokens(steps, cot, answer, expected):
    assert equal_token_steps(steps, cot, answer) == expected


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="no rows"):
        expected_target_tokens([], words, 0.2)


def test_a_bad_row_is_refused_by_its_file_and_line(tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"id": "x"\n{not json\n')
    with pytest.raises(DataError, match=rf"^{re.escape(str(bad))}:1: .*\(2 problem\(s\) in all\)$"):
        split_rows(bad)


def test_the_cot_targets_ask_for_more_steps_on_a_synthetic_split(synthetic_dir, capsys):
    main(["--train", str(synthetic_dir / "train.jsonl"), "--steps", "100", "--describe-fraction", "0.2"])
    found = re.search(r"CoT ([0-9.]+), no CoT ([0-9.]+) \(ratio ([0-9.]+)\); 100 CoT steps = ([0-9]+) no-CoT steps$",
                      capsys.readouterr().out.strip())
    cot, answer, ratio, steps = float(found[1]), float(found[2]), float(found[3]), int(found[4])
    assert ratio == pytest.approx(cot / answer, abs=1e-3)
    assert ratio > 1.5  # a four-step trace before the six-part answer
    assert abs(steps - 100 * cot / answer) <= 1
