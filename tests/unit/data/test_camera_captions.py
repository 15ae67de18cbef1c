"""Camera-to-text data: random trajectories the describer reads exactly as they were drawn, written
as ordinary JSONL + camera files, deterministically and once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reade.camera_vocab import DIRECTIONS
from reade.data.camera_captions import synthesize_camera
from reade.utils.io import MANIFEST_NAME
from reade.data.conditions import read_condition
from reade.data.conditions.camera_motion import describe_camera
from reade.data.synthetic.camera_moves import AMOUNTS, Move, build_trajectory, sample_trajectory


@pytest.fixture(scope="module")
def camera_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("camera") / "data"
    synthesize_camera(out, n_train=60, n_val=4, n_test=12, seed=0)
    return out


def rows(folder: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind, direction", [(k, d) for k, pair in DIRECTIONS.items() for d in pair])
@pytest.mark.parametrize("speed", ["slow", "moderate", "fast"])
def test_every_move_reads_back_as_drawn(kind, direction, speed):
    low, high = AMOUNTS[kind][speed]
    trajectory = build_trajectory((Move(kind, direction, (low + high) / 2),), 9)
    description = describe_camera(trajectory)
    assert description.names == (f"{kind} {direction}",)
    assert description.motions[0].speed == speed


def test_sampled_trajectories_carry_their_description():
    rng = np.random.default_rng(1)
    for combined in (False, True):
        trajectory, description = sample_trajectory(rng, combined=combined)
        assert describe_camera(trajectory) == description
        assert len(description.motions) == 1 + combined
    trajectory, description = sample_trajectory(rng, static=True)
    assert description.names == ("static",)


def test_rows_are_camera_samples_labelled_by_the_describer(camera_dir):
    train = rows(camera_dir, "train")
    assert len(train) == 60 and len(rows(camera_dir, "test")) == 12
    for row in train:
        assert [c["kind"] for c in row["conditions"]] == ["camera"] and row["instruction"]
        described = describe_camera(read_condition("camera", camera_dir / row["conditions"][0]["path"]))
        assert row["meta"]["camera_caption"] == described.text
        assert row["meta"]["camera_motions"] == list(described.names)
        assert 4 <= row["meta"]["frames"] <= 24
    combined = sum(row["meta"]["combined"] for row in train)
    assert 10 <= combined <= 40  # 40 % of 60 drawn with two moves
    assert len({row["instruction"] for row in train}) > 3


def test_test_paths_are_new(camera_dir):
    def paths(split):
        return {(camera_dir / r["conditions"][0]["path"]).read_text() for r in rows(camera_dir, split)}
    assert not paths("train") & paths("test")


def test_deterministic_and_written_once(camera_dir, tmp_path):
    again = tmp_path / "again"
    synthesize_camera(again, n_train=60, n_val=4, n_test=12, seed=0)
    for split in ("train", "val", "test"):
        assert (again / f"{split}.jsonl").read_text() == (camera_dir / f"{split}.jsonl").read_text()
    stamp = (again / MANIFEST_NAME).stat().st_mtime_ns
    synthesize_camera(again, n_train=60, n_val=4, n_test=12, seed=0)
    assert (again / MANIFEST_NAME).stat().st_mtime_ns == stamp


def test_kinds_and_speeds_narrow_the_draw(tmp_path):
    synthesize_camera(tmp_path / "d", n_train=30, n_val=0, n_test=0, kinds=["pan", "zoom"], speeds=["slow"],
                      combined_fraction=0.5)
    for row in rows(tmp_path / "d", "train"):
        motions = row["meta"]["camera_motions"]
        assert all(m.split()[0] in ("pan", "zoom") for m in motions) or motions == ["static"]
        assert row["meta"]["camera_caption"].startswith(("a slow", "the camera stays static"))


def test_refuses_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    with pytest.raises(FileExistsError, match="refusing"):
        synthesize_camera(tmp_path, n_train=2, n_val=0, n_test=0)
