"""The synthetic generator: contract-valid rows, conditions that encode the scene, U/S/Z grounded in
the caption, held-out test pairs, determinism, idempotence and atomic publishing."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import reade.data.synthesize as synthesize_module
from reade.data.conditions import read_condition
from reade.data.synthesize import synthesize, training_texts
from reade.data.synthetic.art import identity_image
from reade.data.synthetic.motion import depth_sequence, pose_sequence
from reade.data.synthetic.plan import plan_sample
from reade.data.synthetic.scene import Subject, article
from reade.data.synthetic.sound import ambience_audio
from reade.data.synthetic.trajectory import camera_trajectory
from reade.data.synthetic.instructions import HELD_OUT_REASONING, INSTRUCTION_KINDS, KIND_WEIGHTS, REASONING_KINDS
from reade.data.synthetic.vocab import COLOURS, CONTEXTS, HELD_OUT_PAIRS
from reade.rewards.elements import content_words
from reade.schema import CONDITION_KINDS, REASONING_STEPS, Sample, parse_output, render_output

SMALL = {"n_train": 64, "n_val": 8, "n_test": 16, "seed": 0}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "data"
    synthesize(out, **SMALL)
    return out


def rows(root: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (root / f"{split}.jsonl").read_text().splitlines()]


def all_samples(root: Path) -> list[Sample]:
    return [Sample.from_dict(row) for split in ("train", "val", "test") for row in rows(root, split)]


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# --- rows ----------------------------------------------------------------------------------------

def test_writes_the_three_splits_with_the_requested_sizes(dataset):
    assert {s: len(rows(dataset, s)) for s in ("train", "val", "test")} == {"train": 64, "val": 8, "test": 16}


def test_every_row_follows_the_contract_and_round_trips(dataset):
    for sample in all_samples(dataset):
        parsed = parse_output(render_output(sample.think, sample.caption))
        assert parsed.ok, (sample.id, parsed.errors)
        assert parsed.caption == sample.caption and parsed.think == sample.think
        assert Sample.from_dict(sample.to_dict()) == sample


def test_ids_are_unique_across_splits(dataset):
    ids = [s.id for s in all_samples(dataset)]
    assert len(ids) == len(set(ids))
    assert all(s.id.startswith(s.meta["split"] + "-") for s in all_samples(dataset))


def test_think_is_the_four_step_trace(dataset):
    for sample in all_samples(dataset):
        lines = sample.think.split("\n")
        assert len(lines) == 4
        for number, (line, step) in enumerate(zip(lines, REASONING_STEPS), start=1):
            assert line.startswith(f"Step {number} ({step.lower()}): ")
        assert 40 <= len(sample.think.split()) <= 160


def test_caption_parts_are_short_single_lines(dataset):
    for sample in all_samples(dataset):
        for name, text in sample.caption.to_dict().items():
            assert "\n" not in text
            assert len(text.split()) <= (80 if name == "dense" else 40), (sample.id, name, text)


def test_every_key_element_appears_in_the_caption(dataset):
    for sample in all_samples(dataset):
        caption = sample.caption.render().lower()
        for group in (sample.key_elements.user, sample.key_elements.supplementary, sample.key_elements.imaginative):
            words = [o.name for o in group.objects] + [a for o in group.objects for a in o.attributes]
            for word in words + list(group.actions) + list(group.camera) + list(group.style):
                assert word.lower() in caption, (sample.id, word)


def test_supplementary_elements_come_only_with_conditions(dataset):
    for sample in all_samples(dataset):
        if not sample.conditions:
            assert not sample.key_elements.supplementary.elements(), sample.id
            assert "No non-textual conditions" in sample.think


def test_a_64_sample_run_covers_every_kind(dataset):
    train = [Sample.from_dict(row) for row in rows(dataset, "train")]
    kinds = Counter(s.meta["instruction_kind"] for s in train)
    conditions = Counter(c.kind for s in train for c in s.conditions)
    assert set(kinds) == {"plain", "ambiguous", "edit", "reasoning"}
    assert set(conditions) == set(CONDITION_KINDS)
    assert any(not s.conditions for s in train)
    identity_counts = [sum(c.kind == "identity" for c in s.conditions) for s in train]
    assert {n for n in identity_counts if n} <= {1, 2, 3}
    assert all(any(c.kind == "identity" for c in s.conditions) for s in train if s.meta["instruction_kind"] == "edit")


def test_held_out_pairs_appear_only_in_test(dataset):
    for sample in all_samples(dataset):
        pair = (sample.meta["scene"]["subjects"][0]["noun"], sample.meta["scene"]["background"])
        assert sample.meta["held_out_pair"] == (pair in HELD_OUT_PAIRS)
        if sample.meta["split"] != "test":
            assert pair not in HELD_OUT_PAIRS, sample.id
    assert all(s.meta["held_out_pair"] for s in all_samples(dataset) if s.meta["split"] == "test")


def test_every_key_element_records_where_a_reader_finds_it(dataset):
    sources = Counter()
    for sample in all_samples(dataset):
        provenance = sample.key_elements.provenance
        assert list(provenance) == sample.key_elements.element_keys(), sample.id  # complete, in order
        instruction = content_words(sample.instruction)
        for key, source in provenance.items():
            sources[source] += 1
            if source == "text":  # stated: every word of the value is in the instruction
                assert content_words(key.replace(":", " ")) <= instruction, (sample.id, key, sample.instruction)
        kind = sample.meta.get("reasoning")
        derived = [key for key, source in provenance.items() if source == "derived"]
        assert bool(derived) == (kind is not None), sample.id  # only reasoning asks for a hop, and each does
        if kind in ("riddle", "transformation"):  # the animal the riddle names or the young form becomes
            noun = sample.meta["scene"]["subjects"][0]["noun"]
            assert provenance[noun] == "derived" and noun not in instruction, sample.id
    assert {"text", "derived", "free", "condition:identity", "condition:camera", "condition:audio"} <= set(sources)


def test_the_gold_dense_caption_states_every_inferable_element(dataset):
    for sample in all_samples(dataset):
        dense = content_words(sample.caption.dense)
        for key, source in sample.key_elements.provenance.items():
            if source != "free":
                assert content_words(key.replace(":", " ")) <= dense, (sample.id, key, source)


# --- condition files -----------------------------------------------------------------------------

def test_every_condition_file_reads_back(dataset):
    for split in ("train", "val", "test"):
        for row in rows(dataset, split):
            for condition in row["conditions"]:
                assert condition["path"].startswith(f"assets/{row['id']}/")
                read_condition(condition["kind"], dataset / condition["path"])


def test_camera_files_are_the_named_motion(dataset):
    checked = 0
    for row in rows(dataset, "train"):
        for condition in row["conditions"]:
            if condition["kind"] == "camera":
                expected = camera_trajectory(row["meta"]["scene"]["camera"], 4)
                np.testing.assert_allclose(read_condition("camera", dataset / condition["path"]).w2c, expected.w2c, atol=1e-5)
                checked += 1
    assert checked > 0


def _forward_and_centre(w2c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rotation, translation = w2c[:, :, :3], w2c[:, :, 3]
    forward = rotation[:, 2, :]  # camera +z in world coordinates
    centre = -np.einsum("tji,tj->ti", rotation, translation)
    return forward, centre


@pytest.mark.parametrize(
    ("motion", "axis", "sign"),
    [("pan left", 0, -1), ("pan right", 0, 1), ("tilt up", 1, -1), ("tilt down", 1, 1)],
)
def test_rotating_motions_turn_the_right_way(motion, axis, sign):
    """OpenCV axes: x right, y down; so looking left is -x and looking up is -y."""
    forward, centre = _forward_and_centre(camera_trajectory(motion, 5).w2c)
    assert np.all(np.sign(np.diff(forward[:, axis])) == sign)
    np.testing.assert_allclose(centre, 0, atol=1e-6)


@pytest.mark.parametrize(("motion", "sign"), [("dolly in", 1), ("dolly out", -1)])
def test_dolly_moves_along_the_viewing_direction(motion, sign):
    forward, centre = _forward_and_centre(camera_trajectory(motion, 5).w2c)
    np.testing.assert_allclose(forward, [[0, 0, 1]] * 5, atol=1e-6)
    assert np.all(np.sign(np.diff(centre[:, 2])) == sign)


@pytest.mark.parametrize(("motion", "sign"), [("zoom in", 1), ("zoom out", -1), ("static", 0)])
def test_zoom_changes_only_the_focal_length(motion, sign):
    trajectory = camera_trajectory(motion, 4)
    assert np.all(np.sign(np.diff(trajectory.intrinsics[:, 0])) == sign)
    np.testing.assert_allclose(trajectory.w2c, [np.eye(3, 4)] * 4, atol=1e-6)


def test_orbit_keeps_its_target_centred_while_moving():
    trajectory = camera_trajectory("orbit", 4)
    target = np.array([0.0, 0.0, 3.0, 1.0])
    in_camera = trajectory.w2c @ target
    np.testing.assert_allclose(in_camera[:, :2], 0, atol=1e-5)
    _, centre = _forward_and_centre(trajectory.w2c)
    assert np.linalg.norm(centre[-1] - centre[0]) > 1.0


@pytest.mark.parametrize(
    "subject",
    [
        Subject("woman", "blonde", "coat", "red", "long"),
        Subject("boy", "auburn", "jacket", "green", "curly"),
        Subject("dog", "brown", "harness", "green"),
        Subject("cat", "grey", "collar", "purple"),
        Subject("horse", "black", "saddle", "yellow"),
        Subject("car", "silver", "stripes", "blue"),
        Subject("bus", "yellow", "wheels", "red"),
    ],
    ids=lambda s: s.noun,
)
def test_identity_images_paint_the_attribute_colours(subject):
    image = identity_image(subject, 56).reshape(-1, 3)
    for colour in (subject.colour, subject.item_colour):
        assert (image == COLOURS[colour]).all(axis=1).sum() >= 3, colour


def _person_scene(action: str):
    plan = next(p for p in (plan_sample(0, "train", i) for i in range(300)) if p.built.source.main.category == "person")
    return replace(plan.built.source, action=action, camera="static", subjects=plan.built.source.subjects[:1])


def _near_centroid(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    near = depth <= depth.min(axis=(1, 2), keepdims=True) + 0.5
    ys, xs = np.indices(depth.shape[1:])
    return (near * xs).sum(axis=(1, 2)) / near.sum(axis=(1, 2)), (near * ys).sum(axis=(1, 2)) / near.sum(axis=(1, 2))


def test_depth_follows_the_action():
    walk_x, _ = _near_centroid(depth_sequence(_person_scene("walking"), 56, 4))
    assert np.all(np.diff(walk_x) > 1), "a walker moves left to right"
    _, jump_y = _near_centroid(depth_sequence(_person_scene("jumping"), 56, 4))
    assert jump_y[1] < jump_y[0] - 2 and jump_y[2] < jump_y[3] - 2, "a jumper leaves the ground mid-clip"


def test_depth_is_near_for_subjects_and_far_behind():
    depth = depth_sequence(_person_scene("sitting"), 56, 2)
    assert depth.shape == (2, 56, 56) and depth.dtype == np.float32
    assert depth[:, 0, :].min() > 9 and depth.min() < 2.5


def test_pose_follows_the_action():
    walking = pose_sequence(_person_scene("walking"), 56, 4, fps=4.0).keypoints[:, 0]
    assert np.all(np.diff(walking[:, 11:13, 0].mean(axis=1)) > 1), "hips move right"
    waving = pose_sequence(_person_scene("waving"), 56, 4, fps=4.0).keypoints[:, 0]
    assert np.all(waving[:, 10, 1] < waving[:, 0, 1]), "the right wrist is above the nose (y points down)"
    sitting = pose_sequence(_person_scene("sitting"), 56, 4, fps=4.0).keypoints[:, 0]
    assert sitting[-1, 11, 1] > sitting[0, 11, 1] + 3, "the hips sink"


def _spectrum(ambience: str) -> tuple[np.ndarray, np.ndarray]:
    clip = ambience_audio(ambience, 1.0, np.random.default_rng(0))
    assert clip.waveform.dtype == np.float32 and np.abs(clip.waveform).max() <= 1
    power = np.abs(np.fft.rfft(clip.waveform)) ** 2
    return np.fft.rfftfreq(clip.waveform.size, 1 / clip.sample_rate), power


@pytest.mark.parametrize(
    ("ambience", "low", "high"),
    [("music", 430, 670), ("engine", 80, 400), ("birds", 2900, 8000), ("wind", 0, 150)],
)
def test_audio_energy_sits_where_the_ambience_sounds(ambience, low, high):
    frequencies, power = _spectrum(ambience)
    assert low <= frequencies[power.argmax()] <= high


def test_rain_is_broadband_and_waves_are_low():
    def centroid(ambience: str) -> float:
        frequencies, power = _spectrum(ambience)
        return float((frequencies * power).sum() / power.sum())

    assert centroid("rain") > 2000 > 500 > centroid("waves")


# --- determinism, idempotence, atomicity ----------------------------------------------------------

def test_two_runs_are_byte_identical(dataset, tmp_path):
    synthesize(tmp_path / "again", **SMALL)
    assert tree_digest(tmp_path / "again") == tree_digest(dataset)


def test_a_second_call_with_the_same_arguments_does_nothing(dataset, monkeypatch):
    before = tree_digest(dataset)
    monkeypatch.setattr(synthesize_module, "_write_dataset", lambda *a, **k: pytest.fail("rewrote the dataset"))
    assert synthesize(dataset, **SMALL) == {s: dataset / f"{s}.jsonl" for s in ("train", "val", "test")}
    assert tree_digest(dataset) == before


def test_other_arguments_replace_the_dataset(tmp_path):
    synthesize(tmp_path / "d", n_train=3, n_val=1, n_test=1)
    synthesize(tmp_path / "d", n_train=2, n_val=1, n_test=1, seed=1)
    assert len(rows(tmp_path / "d", "train")) == 2
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["args"]["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_an_interrupted_run_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []

    def explode(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(synthesize_module, "_write_conditions", explode)
    with pytest.raises(KeyboardInterrupt):
        synthesize(tmp_path / "d", n_train=8, n_val=1, n_test=1)
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_folder_is_not_overwritten(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="no manifest.json"):
        synthesize(tmp_path / "d", n_train=1, n_val=1, n_test=1)


@pytest.mark.parametrize("bad", [{"n_train": -1}, {"frames": 1}, {"image_size": 8}, {"audio_seconds": 0}])
def test_bad_arguments_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        synthesize(tmp_path / "d", **{"n_train": 1, "n_val": 1, "n_test": 1, **bad})


# --- text-only view -------------------------------------------------------------------------------

def test_training_texts_match_the_written_rows(dataset):
    expected = []
    for row in rows(dataset, "train")[:10]:
        sample = Sample.from_dict(row)
        expected += [sample.instruction, render_output(sample.think, sample.caption)]
    assert list(training_texts(10, seed=0)) == expected


def test_training_texts_depend_on_the_seed():
    assert list(training_texts(3, seed=0)) != list(training_texts(3, seed=1))
    assert math.isclose(len(list(training_texts(5))), 10)


# --- reasoning: more than one hop, the middle one written out ------------------------------------

@pytest.fixture(scope="module")
def plans():
    return {split: [plan_sample(0, split, i) for i in range(n)] for split, n in (("train", 1500), ("test", 600))}


def test_reasoning_is_at_least_two_fifths_of_the_rows_and_ambiguous_a_quarter(plans):
    for split, plans_of_split in plans.items():
        kinds = Counter(p.kind for p in plans_of_split)
        assert kinds["reasoning"] / len(plans_of_split) >= 0.38, (split, kinds)
        assert kinds["ambiguous"] / len(plans_of_split) >= 0.22, (split, kinds)
    assert KIND_WEIGHTS[INSTRUCTION_KINDS.index("reasoning")] >= 0.4
    assert KIND_WEIGHTS[INSTRUCTION_KINDS.index("ambiguous")] >= 0.25


def test_hop_combinations_are_held_out_to_the_test_split(plans):
    modes = {split: Counter(p.built.detail.get("reasoning") for p in ps) for split, ps in plans.items()}
    assert set(HELD_OUT_REASONING) & set(modes["train"]) == set()
    assert set(HELD_OUT_REASONING) <= set(modes["test"])
    assert set(REASONING_KINDS) <= set(modes["train"]) and set(REASONING_KINDS) <= set(modes["test"])


def _reasoning(plans, mode):
    found = [(p, p.sample()) for ps in plans.values() for p in ps if p.built.detail.get("reasoning") == mode]
    assert found, mode
    return found


def _step(sample: Sample, number: int) -> str:
    return sample.think.splitlines()[number - 1]


@pytest.mark.parametrize("mode", ["riddle", "riddle_in_context"])
def test_a_riddle_names_a_thing_whose_look_only_one_of_two_references_shows(plans, mode):
    for plan, sample in _reasoning(plans, mode):
        main = plan.built.target.main
        references = plan.built.references
        assert len(references) == 2 and main in references and len(plan.built.target.subjects) == 1
        position = references.index(main) + 1
        identity = [c for c in sample.conditions if c.kind == "identity"]
        assert [c.description for c in identity] == [s.phrase for s in references]
        assert f"is {article(main.noun)}, and identity reference" in _step(sample, 1)
        assert f"identity reference {position} shows {main.phrase}" in _step(sample, 1)
        assert all(sample.key_elements.provenance[k] == "derived" for k in (main.noun, *(f"{main.noun}: {a}" for a in main.attributes)))
        distractor = references[2 - position]
        assert distractor.noun not in sample.key_elements.provenance


def test_a_young_form_grows_into_a_subject_in_the_colours_its_reference_shows(plans):
    for plan, sample in _reasoning(plans, "transformation"):
        main = plan.built.target.main
        assert any(c.kind == "identity" and c.description == main.young_phrase for c in sample.conditions)
        assert f"the reference shows {main.young_phrase}, so the video should show {main.phrase}" in _step(sample, 1)
        assert all(sample.key_elements.provenance[f"{main.noun}: {a}"] == "derived" for a in main.attributes)


def test_a_context_implies_its_details_light_and_mood(plans):
    for plan, sample in _reasoning(plans, "context"):
        context = next(c for c in CONTEXTS if c.background == plan.built.target.background)
        assert sample.key_elements.provenance[context.mood] == "derived"
        assert f"{context.mood} mood" in _step(sample, 1) and f"{context.mood} mood" in sample.caption.dense


def test_a_match_edit_takes_the_colour_another_reference_shows(plans):
    for plan, sample in _reasoning(plans, "match"):
        (derived,) = [k for k, v in sample.key_elements.provenance.items() if v == "derived"]
        receiver, item = derived.split(": ")
        colour = item.rsplit(" ", 1)[0]
        donor = next(s for s in plan.built.source.subjects if s.noun in sample.instruction and s.noun != receiver)
        assert donor.colour == colour
        assert any(c.description == donor.phrase for c in sample.conditions)  # the file that shows it
        before = next(s for s in plan.built.source.subjects if s.noun == receiver)
        assert before.item_colour != colour  # the edit changes something


def test_every_condition_says_what_it_shows(dataset):
    for sample in all_samples(dataset):
        assert all(c.description for c in sample.conditions), sample.id


@pytest.mark.parametrize("one, other", [
    (Subject("woman", "black", "coat", "red", "short"), Subject("man", "black", "coat", "red", "short")),
    (Subject("girl", "black", "coat", "red", "short"), Subject("boy", "black", "coat", "red", "short")),
    (Subject("man", "black", "jacket", "red", "short"), Subject("man", "black", "sweater", "red", "short")),
    (Subject("dog", "brown", "collar", "red", young="puppy"), Subject("dog", "white", "collar", "red", young="puppy")),
    (Subject("frog", "green", young="tadpole"), Subject("frog", "brown", young="tadpole")),
], ids=["woman-man", "girl-boy", "jacket-sweater", "puppy-colour", "tadpole-colour"])
def test_what_a_caption_takes_from_an_image_shows_in_it(one, other):
    assert not np.array_equal(identity_image(one, 56), identity_image(other, 56))
