"""The camera ViT: token counts, batching, splicing into the prompt, save/load, and bad input."""

from __future__ import annotations

import json

import pytest
import torch

from reade.data.conditions.plucker import pack_plucker, trajectory_plucker
from reade.data.synthetic.trajectory import camera_trajectory
from reade.models.camera_encoder import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    CameraEncoder,
    CameraEncoderConfig,
    Projector,
    num_camera_tokens,
    sincos_3d,
    splice_camera_tokens,
)
from reade.models.tokenizer import CAMERA_END, CAMERA_PAD, CAMERA_START, load_tokenizer, token_id

TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def encoder() -> CameraEncoder:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return CameraEncoder(CameraEncoderConfig.tiny()).eval()


def _maps(frames: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """Random packed maps [T, 96, H/4, W/4] for frames of height x width pixels."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(frames, 96, height // 4, width // 4, generator=generator)


@pytest.mark.parametrize(
    ("frames", "height", "width", "expected"),
    [(1, 16, 16, 1), (2, 16, 16, 1), (3, 32, 48, 2 * 2 * 3), (4, 64, 32, 2 * 4 * 2), (7, 48, 16, 4 * 3 * 1)],
)
def test_forward_gives_num_camera_tokens_rows(encoder, frames, height, width, expected):
    # tiny: frames are multiples of 4 (pack) x 2 (patch) x 2 (merge) = 16 pixels; 2 frames per tubelet
    assert num_camera_tokens(encoder.config, frames, height, width) == expected
    with torch.no_grad():
        out = encoder([_maps(frames, height, width)])
    assert out.shape == (expected, 128)
    assert torch.isfinite(out).all()


def test_paper_token_count_for_a_cameractrl_sized_clip():
    # 16 frames of 256 x 384: 8 tubelet slices x (64/16/2) x (96/16/2) merged tokens
    config = CameraEncoderConfig.paper()
    assert config.frame_multiple == 128
    assert num_camera_tokens(config, 16, 256, 384) == 8 * 2 * 3


@pytest.mark.parametrize(("height", "width"), [(100, 128), (128, 130)])
def test_token_count_rejects_frames_the_grid_does_not_tile(height, width):
    with pytest.raises(ValueError, match="multiple"):
        num_camera_tokens(CameraEncoderConfig.paper(), 16, height, width)
    with pytest.raises(ValueError, match="at least one frame"):
        num_camera_tokens(CameraEncoderConfig.paper(), 0, 128, 128)


def test_real_trajectory_through_plucker_and_packing(encoder):
    rays = trajectory_plucker(camera_trajectory("orbit", 6), 32, 48)  # [6, 6, 32, 48]
    with torch.no_grad():
        out = encoder([pack_plucker(rays)])
    assert out.shape == (num_camera_tokens(encoder.config, 6, 32, 48), 128)


def test_a_batch_gives_the_tokens_of_each_trajectory_alone(encoder):
    short, long = _maps(3, 32, 32, seed=1), _maps(6, 32, 32, seed=2)
    other_size = _maps(2, 16, 48, seed=3)
    with torch.no_grad():
        alone = [encoder([m]) for m in (short, long, other_size)]
        listed = encoder([short, long, other_size])
        padded = torch.zeros(2, 6, 96, 8, 8)  # [B, T_max, C, h, w]; frames past a length are never read
        padded[0, :3], padded[1] = short, long
        batched = encoder(padded, lengths=torch.tensor([3, 6]))
    torch.testing.assert_close(listed, torch.cat(alone), **TOL)
    torch.testing.assert_close(batched, torch.cat(alone[:2]), **TOL)


def test_an_odd_frame_count_repeats_the_last_frame(encoder):
    maps = _maps(3, 32, 32)
    with torch.no_grad():
        odd = encoder([maps])
        held = encoder([torch.cat([maps, maps[-1:]])])
    torch.testing.assert_close(odd, held)


def test_projector_merges_2x2_neighbours_in_time_row_column_order():
    projector = Projector(dim=1, out_dim=4, merge_size=2, eps=1e-6)
    projector.norm, projector.mlp = torch.nn.Identity(), torch.nn.Identity()
    tubelets = torch.arange(2 * 4 * 4, dtype=torch.float32)[:, None]  # [t*H*W, 1]: its own (t, row, col) index
    merged = projector(tubelets, grid=(2, 2, 2))  # [t*(H/2)*(W/2), 4]
    assert merged[:3].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13]]
    assert merged[4].tolist() == [16, 17, 20, 21]  # the second time slice follows the first


def test_positions_are_distinct_and_fill_the_width():
    positions = sincos_3d(3, 4, 5, 32)
    assert positions.shape == (60, 32)
    assert torch.cdist(positions, positions).add(torch.eye(60)).min() > 0.1


def test_splice_puts_camera_rows_on_the_placeholders_in_order():
    tokenizer = load_tokenizer()
    start, pad, end = (token_id(tokenizer, t) for t in (CAMERA_START, CAMERA_PAD, CAMERA_END))
    assert len({start, pad, end}) == 3
    text = 7 if 7 not in (start, pad, end) else 8
    input_ids = torch.tensor(
        [[text, start, pad, pad, end, text],
         [text, text, start, pad, end, text]]
    )  # [B, L]: 3 placeholders, two in the first row, one in the second
    inputs_embeds = torch.randn(2, 6, 4)
    camera = torch.arange(12, dtype=torch.float32).reshape(3, 4).requires_grad_()
    out = splice_camera_tokens(inputs_embeds, input_ids, camera, pad)
    torch.testing.assert_close(out[0, 2], camera[0])
    torch.testing.assert_close(out[0, 3], camera[1])
    torch.testing.assert_close(out[1, 3], camera[2])
    keep = input_ids != pad
    torch.testing.assert_close(out[keep], inputs_embeds[keep])
    out.sum().backward()
    assert torch.equal(camera.grad, torch.ones(3, 4))


def test_splice_rejects_a_count_mismatch_with_both_numbers():
    input_ids = torch.tensor([[5, 9, 9, 5]])
    with pytest.raises(ValueError, match=r"2 <\|camera_pad\|> tokens .* but 3 camera embeddings"):
        splice_camera_tokens(torch.zeros(1, 4, 8), input_ids, torch.zeros(3, 8), camera_pad_id=9)
    with pytest.raises(ValueError, match="LLM width 8"):
        splice_camera_tokens(torch.zeros(1, 4, 8), input_ids, torch.zeros(2, 5), camera_pad_id=9)


def test_save_load_round_trip_gives_identical_outputs(encoder, tmp_path):
    encoder.save_pretrained(tmp_path)
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["patch_size"] == 2
    header_size = int.from_bytes((tmp_path / WEIGHTS_FILE).read_bytes()[:8], "little")  # safetensors, not pickle
    assert (tmp_path / WEIGHTS_FILE).read_bytes()[8 : 8 + header_size].startswith(b"{")
    loaded = CameraEncoder.from_pretrained(tmp_path).eval()
    assert loaded.config == encoder.config
    maps = [_maps(4, 32, 32), _maps(2, 16, 16)]
    with torch.no_grad():
        assert torch.equal(loaded(maps), encoder(maps))


def test_from_pretrained_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"missing {WEIGHTS_FILE}, {CONFIG_FILE}"):
        CameraEncoder.from_pretrained(tmp_path)
    CameraEncoderConfig.tiny().save(tmp_path / CONFIG_FILE)
    with pytest.raises(FileNotFoundError, match=f"missing {WEIGHTS_FILE}$"):
        CameraEncoder.from_pretrained(tmp_path)
    raw = json.loads((tmp_path / CONFIG_FILE).read_text()) | {"patch_sise": 3}
    (tmp_path / CONFIG_FILE).write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="patch_sise"):
        CameraEncoderConfig.load(tmp_path / CONFIG_FILE)


def test_paper_config_holds_the_papers_hyperparameters_and_builds():
    config = CameraEncoderConfig.paper(out_hidden_size=2048)
    assert (config.in_channels, config.patch_size, config.depth, config.num_heads) == (96, 16, 8, 8)
    assert config.out_hidden_size == 2048 and config.pack_factor == 4
    with torch.device("meta"):  # shapes only: a real 265M-parameter init takes seconds
        model = CameraEncoder(config)
    assert len(model.blocks) == 8 and model.blocks[0].attn.num_heads == 8
    assert model.patch_embed.in_features == 96 * 2 * 16 * 16
    assert model.projector.mlp[-1].out_features == 2048
    assert 200e6 < sum(p.numel() for p in model.parameters()) < 300e6


def test_tiny_is_tiny(encoder):
    assert 1_000 < sum(p.numel() for p in encoder.parameters()) < 100_000


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = CameraEncoder(CameraEncoderConfig.tiny())
    out = model([_maps(3, 32, 32), _maps(2, 16, 32)])
    (out * torch.randn_like(out)).sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    ("maps", "lengths", "message"),
    [
        ([torch.zeros(2, 95, 8, 8)], None, "has 95 channels, expected 96"),
        ([torch.zeros(96, 8, 8)], None, r"trajectory 0 must be a packed map \[T, C, h, w\]"),
        (torch.zeros(2, 96, 8, 8), None, "must be a padded batch"),
        (torch.zeros(1, 2, 2, 96, 8, 8), None, "must be a padded batch"),
        (torch.zeros(2, 3, 96, 8, 8), [3, 4], "lengths"),
        ([torch.zeros(2, 96, 8, 8)], [2], "lengths go with a padded batch"),
        ([torch.zeros(2, 96, 8, 6)], None, "not a multiple of patch_size x merge_size = 4"),
        ([torch.zeros(0, 96, 8, 8)], None, "at least one frame"),
        ([], None, "no trajectories"),
    ],
    ids=["channels", "rank-3", "rank-4-tensor", "rank-6", "length-too-long", "lengths-with-list", "size", "empty", "none"],
)
def test_bad_input_is_a_clear_error(encoder, maps, lengths, message):
    with pytest.raises(ValueError, match=message):
        encoder(maps, lengths)


@pytest.mark.parametrize(
    ("change", "message"),
    [(dict(in_channels=95), "in_channels 95"), (dict(hidden_size=30, num_heads=4), "split into 4 heads")],
)
def test_config_rejects_inconsistent_sizes(change, message):
    with pytest.raises(ValueError, match=message):
        CameraEncoderConfig(**change)
