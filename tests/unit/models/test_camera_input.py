"""Camera conditions in the prompt: Plücker maps relative to the first camera, the frame budget, the
`Camera trajectory:` block and its token count, and a processor without a camera encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reade.data.conditions.camera import CameraTrajectory
from reade.data.synthetic.trajectory import camera_trajectory
from reade.models.camera_encoder import CameraEncoderConfig, num_camera_tokens
from reade.models.camera_input import CameraInputSettings, camera_maps, frame_indices, relative_to_first
from reade.models.processing import CameraSupport, InterpreterProcessor
from reade.models.tokenizer import CAMERA_END, CAMERA_PAD, CAMERA_START, token_id

CAMERA = CameraSupport(CameraEncoderConfig.tiny(), CameraInputSettings(max_frames=16, height=32, width=48))


@pytest.fixture(scope="module")
def processor(tiny_dir):
    return InterpreterProcessor.from_pretrained(tiny_dir).with_camera(CAMERA)


def moved(trajectory: CameraTrajectory, rotation: np.ndarray, shift: np.ndarray) -> CameraTrajectory:
    """The same path placed elsewhere in the world: c2w' = [R | s] c2w."""
    w2c = trajectory.w2c.astype(np.float64)
    new = np.empty_like(w2c)
    new[:, :, :3] = w2c[:, :, :3] @ rotation.T
    new[:, :, 3] = w2c[:, :, 3] - new[:, :, :3] @ shift
    return CameraTrajectory(trajectory.intrinsics, new.astype(np.float32))


def test_poses_become_relative_to_the_first_camera():
    trajectory = camera_trajectory("orbit", 6)
    angle = 0.7
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    elsewhere = moved(trajectory, rotation, np.array([3.0, -1.0, 2.0]))
    assert not np.allclose(elsewhere.w2c, trajectory.w2c, atol=1e-3)
    relative = relative_to_first(elsewhere.w2c)
    np.testing.assert_allclose(relative[0], np.eye(3, 4), atol=1e-6)
    np.testing.assert_allclose(relative, relative_to_first(trajectory.w2c), atol=1e-5)
    torch.testing.assert_close(camera_maps(elsewhere, CAMERA.input, 4), camera_maps(trajectory, CAMERA.input, 4),
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("frames, budget, expected", [(4, 16, [0, 1, 2, 3]), (16, 16, list(range(16))),
                                                      (24, 4, [0, 8, 15, 23]), (5, 3, [0, 2, 4])])
def test_frame_budget_keeps_first_and_last(frames, budget, expected):
    assert frame_indices(frames, budget).tolist() == expected


def test_maps_have_the_encoder_layout():
    maps = camera_maps(camera_trajectory("pan left", 20), CAMERA.input, 4)
    assert maps.shape == (16, 96, 8, 12) and maps.dtype == torch.float32


@pytest.mark.parametrize("frames", [2, 4, 5, 16, 24])
def test_camera_block_has_one_pad_per_encoder_token(processor, frames):
    batch = processor(["How does the camera move?"], [[("camera", camera_trajectory("zoom in", frames))]])
    expected = num_camera_tokens(CAMERA.encoder, min(frames, 16), 32, 48)
    assert expected == -(-min(frames, 16) // 2) * 2 * 3  # 32 x 48 px: 2 x 3 merged patches a frame pair
    assert int((batch["input_ids"] == processor.camera_pad_id).sum()) == expected
    assert [m.shape for m in batch["camera_maps"]] == [(min(frames, 16), 96, 8, 12)]
    text = processor.tokenizer.decode(batch["input_ids"][0])
    assert f"Camera trajectory:\n{CAMERA_START}{CAMERA_PAD * expected}{CAMERA_END}\nHow does the camera move?" in text


def test_cameras_beside_other_conditions_keep_prompt_order(processor, media):
    conditions = [("identity", media["image"]), ("camera", camera_trajectory("tilt up", 4)),
                  ("camera", camera_trajectory("dolly in", 6)), ("audio", media["audio"])]
    batch = processor(["x", "y"], [conditions, [("camera", camera_trajectory("static", 3))]])
    text = processor.tokenizer.decode(batch["input_ids"][0])
    order = [text.index(p) for p in ("Identity reference 1:", "Camera trajectory 1:", "Camera trajectory 2:", "Audio:")]
    assert order == sorted(order)
    assert [len(m) for m in batch["camera_maps"]] == [4, 6, 3]
    assert (batch["input_ids"] == processor.camera_pad_id).sum(1).tolist() == [2 * 6 + 3 * 6, 2 * 6]
    assert {"pixel_values", "input_features"} <= set(batch)


def test_camera_tokens_are_never_generated(processor):
    for token in (CAMERA_START, CAMERA_PAD, CAMERA_END):
        assert token_id(processor.tokenizer, token) in processor.suppressed_ids


def test_without_a_camera_encoder_a_camera_condition_is_refused(tiny_dir):
    plain = InterpreterProcessor.from_pretrained(tiny_dir)
    assert plain.camera is None
    with pytest.raises(ValueError, match="sample 0: camera conditions .* stage=camera_pretrain"):
        plain(["a"], [[("camera", camera_trajectory("pan left", 4))]])


def test_a_camera_payload_must_be_a_trajectory(processor):
    with pytest.raises(ValueError, match="sample 1: a camera condition must be a CameraTrajectory"):
        processor(["a", "b"], [[], [("camera", np.zeros((4, 16)))]])


def test_render_size_must_tile_the_encoder_grid():
    with pytest.raises(ValueError, match="not a multiple of the encoder's frame_multiple 16"):
        CameraSupport(CameraEncoderConfig.tiny(), CameraInputSettings(height=40, width=48))
    with pytest.raises(ValueError, match="max_frames"):
        CameraInputSettings(max_frames=1)


def test_camera_support_survives_save_and_reload(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    reloaded = InterpreterProcessor.from_pretrained(tmp_path)
    assert reloaded.camera == processor.camera
    conditions = [[("camera", camera_trajectory("orbit", 7))]]
    first, second = processor(["x"], conditions, ["a slow orbit left"]), reloaded(["x"], conditions, ["a slow orbit left"])
    assert all(torch.equal(first[k], second[k]) for k in ("input_ids", "attention_mask", "labels"))
    assert torch.equal(first["camera_maps"][0], second["camera_maps"][0])
