"""Condition readers: they round-trip what the writers produce and reject bad files with the path
(and the line, for text formats) in the message."""

from __future__ import annotations

import json
import struct
import wave
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reade.data.conditions import (
    AudioClip,
    CameraTrajectory,
    ConditionError,
    PoseSequence,
    condition_frames,
    read_condition,
    write_audio,
    write_camera,
    write_depth,
    write_identity,
    write_pose,
)
from reade.data.synthetic.art import identity_image
from reade.data.synthetic.motion import depth_sequence, pose_sequence
from reade.data.synthetic.plan import plan_sample
from reade.data.synthetic.scene import Subject
from reade.data.synthetic.sound import ambience_audio
from reade.data.synthetic.trajectory import camera_trajectory
from reade.schema import CONDITION_KINDS

SCENE = next(
    p.built.source
    for p in (plan_sample(0, "train", i) for i in range(200))
    if p.built.source.main.category == "person" and len(p.built.source.people) == 2
)
IDENTITY_LINE = "0.9 0.9 0.5 0.5 1 0 0 0 0 1 0 0 0 0 1 0"


# --- round trips -------------------------------------------------------------------------------

def test_identity_round_trip(tmp_path):
    image = identity_image(Subject("woman", "blonde", "coat", "red", "long"), 56)
    write_identity(tmp_path / "id.png", image)
    np.testing.assert_array_equal(read_condition("identity", tmp_path / "id.png"), image)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_identity_converts_any_mode_to_rgb(tmp_path, mode):
    Image.new(mode, (8, 6)).save(tmp_path / "id.png")
    image = read_condition("identity", tmp_path / "id.png")
    assert image.shape == (6, 8, 3) and image.dtype == np.uint8


def test_identity_reads_jpeg(tmp_path):
    Image.new("RGB", (10, 10), (200, 40, 40)).save(tmp_path / "id.jpg", format="JPEG")
    assert read_condition("identity", tmp_path / "id.jpg").shape == (10, 10, 3)


def test_depth_round_trip(tmp_path):
    depth = depth_sequence(SCENE, 32, 3)
    write_depth(tmp_path / "depth.npz", depth)
    loaded = read_condition("depth", tmp_path / "depth.npz")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, depth)


def test_pose_round_trip(tmp_path):
    pose = pose_sequence(SCENE, 56, 4, fps=4.0)
    write_pose(tmp_path / "pose.json", pose)
    loaded = read_condition("pose", tmp_path / "pose.json")
    assert loaded.keypoints.shape == (4, 2, 17, 3) and loaded.keypoints.dtype == np.float32
    assert (loaded.width, loaded.height, loaded.fps) == (56, 56, 4.0)
    np.testing.assert_allclose(loaded.keypoints, pose.keypoints, atol=0.006)


@pytest.mark.parametrize("motion", ["pan left", "tilt down", "dolly in", "zoom out", "orbit", "static"])
def test_camera_round_trip(tmp_path, motion):
    trajectory = camera_trajectory(motion, 5)
    write_camera(tmp_path / "camera.txt", trajectory)
    loaded = read_condition("camera", tmp_path / "camera.txt")
    assert loaded.w2c.shape == (5, 3, 4) and loaded.intrinsics.shape == (5, 4)
    np.testing.assert_allclose(loaded.w2c, trajectory.w2c, atol=1e-6)
    np.testing.assert_allclose(loaded.intrinsics, trajectory.intrinsics, atol=1e-6)


def test_audio_round_trip(tmp_path):
    clip = ambience_audio("music", 0.25, np.random.default_rng(0))
    write_audio(tmp_path / "audio.wav", clip)
    loaded = read_condition("audio", tmp_path / "audio.wav")
    waveform, rate = loaded
    assert rate == clip.sample_rate and waveform.dtype == np.float32
    np.testing.assert_allclose(waveform, clip.waveform, atol=1.5 / 32768)


def test_stereo_audio_is_mixed_to_mono(tmp_path):
    frames = np.array([[16384, -16384], [8192, 8192]], dtype="<i2")
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(frames.tobytes())
    clip = read_condition("audio", tmp_path / "stereo.wav")
    np.testing.assert_allclose(clip.waveform, [0.0, 0.25])
    assert clip.sample_rate == 8000


# --- camera text variants ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{IDENTITY_LINE}\n{IDENTITY_LINE}\n", id="16-numbers"),
        pytest.param(f"# header\n\n0 {IDENTITY_LINE}\n33366 {IDENTITY_LINE}\n", id="17-numbers-with-comments"),
        pytest.param(
            "https://www.youtube.com/watch?v=abc\n"
            "0 0.9 0.9 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0\n"
            "33366 0.9 0.9 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0\n",
            id="realestate10k-19-numbers-with-url",
        ),
        pytest.param(
            json.dumps({"frames": [{"intrinsics": [0.9, 0.9, 0.5, 0.5],
                                    "w2c": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]}] * 2}),
            id="json",
        ),
    ],
)
def test_camera_accepts_documented_layouts(tmp_path, text):
    (tmp_path / "camera.txt").write_text(text)
    trajectory = read_condition("camera", tmp_path / "camera.txt")
    np.testing.assert_allclose(trajectory.intrinsics, [[0.9, 0.9, 0.5, 0.5]] * 2)
    np.testing.assert_allclose(trajectory.w2c, [np.eye(3, 4)] * 2)


# --- frames for the video kinds -------------------------------------------------------------------

def test_depth_frames_are_near_bright():
    depth = np.full((2, 4, 4), 8.0, dtype=np.float32)
    depth[1, 2, 3] = 1.0
    frames = condition_frames("depth", depth)
    assert frames.shape == (2, 4, 4, 3) and frames.dtype == np.uint8
    assert frames[1, 2, 3].tolist() == [255, 255, 255]
    assert frames[0].max() == 0


def test_flat_depth_renders_mid_grey():
    assert (condition_frames("depth", np.ones((1, 3, 3), dtype=np.float32)) == 128).all()


def test_pose_frames_draw_figures_on_black():
    pose = pose_sequence(SCENE, 56, 3, fps=3.0)
    frames = condition_frames("pose", pose)
    assert frames.shape == (3, 56, 56, 3) and frames.dtype == np.uint8
    assert frames[:, 0, 0].max() == 0
    for frame, keypoints in zip(frames, pose.keypoints):
        x, y = keypoints[0, 0, :2].round().astype(int)
        assert frame[y, x].max() > 0, "the nose of the first person is drawn where its keypoint is"


@pytest.mark.parametrize("kind", ["identity", "camera", "audio"])
def test_frames_refuse_kinds_that_are_not_video(kind):
    with pytest.raises(ValueError, match="does not reach the model as video"):
        condition_frames(kind, np.zeros((1, 2, 2), dtype=np.float32))


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown condition kind"):
        read_condition("sketch", tmp_path / "x.png")


# --- rejection of bad input ----------------------------------------------------------------------

def _npz(path: Path, **arrays: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def _truncated_npz(path: Path) -> None:
    write_depth(path, np.ones((2, 16, 16), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:60])


def _truncated_png(path: Path) -> None:
    write_identity(path, np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:400])


def _png_claiming(width: int, height: int) -> Callable[[Path], None]:
    """A PNG whose header claims `width` x `height` pixels (with no pixel data): what a reader sees of
    a huge image before it decodes anything."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def make(path: Path) -> None:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return make


def _pose(frames: list) -> str:
    return json.dumps({"width": 56, "height": 56, "fps": 4, "keypoint_format": "coco17", "frames": frames})


PERSON = [[10.0, 20.0, 0.9]] * 17
ROTATED = "0.9 0.9 0.5 0.5 1 0 0 0 0 1 0 0 0 0 1.2 0"


def _wav(path: Path, width: int, frames: bytes) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(width)
        writer.setframerate(16000)
        writer.writeframes(frames)


BAD_FILES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("identity", "id.png", lambda p: p.write_bytes(b"not an image at all"), "not an image"),
    ("identity", "id.png", _truncated_png, "unreadable image"),
    ("identity", "id.png", _png_claiming(9000, 9000), "image of 9000 x 9000 = 81,000,000 pixels, over the limit of 67,108,864"),
    ("identity", "id.png", _png_claiming(30000, 30000), "image of over 178,956,970 pixels, over the limit of 67,108,864"),
    ("depth", "depth.npz", _truncated_npz, "truncated"),
    ("depth", "depth.npz", lambda p: _npz(p, disparity=np.ones((1, 2, 2), np.float32)), "no key 'depth'"),
    ("depth", "depth.npz", lambda p: _npz(p, depth=np.ones((2, 2), np.float32)), "[T, H, W]"),
    ("depth", "depth.npz", lambda p: _npz(p, depth=np.zeros((0, 2, 2), np.float32)), "empty"),
    ("depth", "depth.npz", lambda p: _npz(p, depth=np.array([[[1.0, np.nan]]], np.float32)), "NaN"),
    ("depth", "depth.npz", lambda p: _npz(p, depth=np.array([[[1.0, -2.0]]], np.float32)), "negative"),
    ("depth", "depth.npz", lambda p: _npz(p, depth=np.ones((1, 2, 2), np.uint8)), "floating point"),
    ("depth", "depth.npy", lambda p: np.save(p, np.ones((1, 2, 2), np.float32)), "bare array"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([[PERSON], [PERSON, PERSON]])), "frames[1] has 2 people"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([[PERSON[:16]]])), "17 keypoints"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([])), "non-empty"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([[]])), "frames[0]"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([[[[1.0, float("nan"), 0.9]] * 17]])), "non-finite"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([[[[1.0, 2.0, 1.5]] * 17]])), "confidence"),
    ("pose", "pose.json", lambda p: p.write_text(_pose([[PERSON]]).replace("coco17", "body25")), "coco17"),
    ("pose", "pose.json", lambda p: p.write_text('{"width": 56,\n "frames": [,]}'), "line 2"),
    ("camera", "camera.txt", lambda p: p.write_text(f"{IDENTITY_LINE}\n{IDENTITY_LINE}\n{IDENTITY_LINE.replace('0.5 0.5', 'nan 0.5')}\n"), "line 3: NaN"),
    ("camera", "camera.txt", lambda p: p.write_text(f"{IDENTITY_LINE}\n{IDENTITY_LINE[:-2]}\n"), "line 2: expected 16, 17 or 19 numbers, got 15"),
    ("camera", "camera.txt", lambda p: p.write_text(f"# c\n{IDENTITY_LINE}\n{ROTATED}\n"), "line 3: rotation part of w2c is not orthonormal"),
    ("camera", "camera.txt", lambda p: p.write_text(f"{IDENTITY_LINE}\n{IDENTITY_LINE.replace('1 0 0 0 0 1 0 0', '1 0 0 0 0 -1 0 0')}\n"), "line 2: rotation part of w2c is a reflection"),
    ("camera", "camera.txt", lambda p: p.write_text(f"{IDENTITY_LINE}\nfx fy\n"), "line 2: not a list of numbers"),
    ("camera", "camera.txt", lambda p: p.write_text(f"{IDENTITY_LINE}\n"), "at least 2 frames"),
    ("camera", "camera.txt", lambda p: p.write_text(""), "at least 2 frames"),
    ("camera", "camera.json", lambda p: p.write_text('{"frames": [{"intrinsics": [1, 1, 0.5], "w2c": []}]}'), "frames[0]: intrinsics"),
    ("audio", "audio.wav", lambda p: p.write_text("RIFF? no, just text"), "not a readable PCM WAV"),
    ("audio", "audio.wav", lambda p: _wav(p, 1, bytes(100)), "16-bit"),
    ("audio", "audio.wav", lambda p: _wav(p, 2, b""), "no samples"),
]


@pytest.mark.parametrize(("kind", "name", "make", "problem"), BAD_FILES, ids=[f"{k}-{m}" for k, _, _, m in BAD_FILES])
def test_bad_files_are_rejected_with_their_path(tmp_path, kind, name, make, problem):
    path = tmp_path / name
    make(path)
    with pytest.raises(ConditionError) as caught:
        read_condition(kind, path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert problem in message, message


@pytest.mark.parametrize("kind", CONDITION_KINDS)
def test_missing_files_are_named(tmp_path, kind):
    path = tmp_path / "nowhere" / "file"
    with pytest.raises(ConditionError, match="file not found") as caught:
        read_condition(kind, path)
    assert str(caught.value).startswith(str(path))
    assert isinstance(caught.value, ValueError)


def test_reader_results_have_the_documented_types(tmp_path):
    write_pose(tmp_path / "pose.json", pose_sequence(SCENE, 56, 2, fps=2.0))
    write_camera(tmp_path / "camera.txt", camera_trajectory("pan left", 2))
    write_audio(tmp_path / "audio.wav", AudioClip(np.zeros(4, np.float32), 16000))
    assert isinstance(read_condition("pose", tmp_path / "pose.json"), PoseSequence)
    assert isinstance(read_condition("camera", tmp_path / "camera.txt"), CameraTrajectory)
    assert isinstance(read_condition("audio", tmp_path / "audio.wav"), AudioClip)
