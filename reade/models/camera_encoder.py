"""The camera encoder: a ViT over packed Plücker maps, and a projector into the LLM's hidden size.

The paper (appendix D.3): "Following Wu et al. (2025), the camera encoder adopts a vision-encoder
architecture with an input channel of 96, a patch size of 16, a depth of 8, and 8 attention heads."
Those four names are fields of Qwen2-VL's vision config (`in_channels`, `patch_size`, `depth`,
`num_heads`); we read the sentence as that vision tower with the other fields at Qwen2-VL's
defaults (width 1280, MLP ratio 4, temporal patch 2, 2x2 spatial merge), which `paper()` holds.

How a trajectory becomes tokens (`num_camera_tokens` counts them without running anything):

1. `pack_plucker` maps T frames of H x W rays to `[T, 96, H/4, W/4]`.
2. Tubelets of `temporal_patch_size` frames x `patch_size`^2 positions are flattened and embedded
   by one linear layer (Qwen's Conv3d patch embedding with stride = kernel, written as a
   rearrange + Linear). A T that is not a multiple of the temporal patch repeats its last frame,
   as Qwen's processor does for videos: the camera simply holds still at the end.
3. Fixed 3-D sin-cos positions (time, row, column of the tubelet, in grid units) are added. Being
   a function of the grid, they need no maximum length and no interpolation at other sizes.
4. Pre-norm transformer blocks attend across the WHOLE trajectory (every tubelet sees every other),
   not per temporal slice as Qwen's vision tower does: spliced camera tokens get ordinary text
   positions in the LLM, not the vision M-RoPE's time axis, so the encoder must carry the motion
   over time itself. Trajectories of different lengths are padded and masked, never mixed.
5. The projector (Qwen's PatchMerger): LayerNorm per tubelet, then each `merge_size` x
   `merge_size` block of neighbours is concatenated and a 2-layer MLP maps it to the LLM width.

Tokens come out in (time, row, column) order of the merged grid, trajectories one after another,
the same contract as the thinker's vision tower: `splice_camera_tokens` drops them, in order,
onto the `<|camera_pad|>` positions of the prompt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from reade.utils.io import read_settings, write_settings

WEIGHTS_FILE = "camera_encoder.safetensors"
CONFIG_FILE = "camera_encoder.json"
PLUCKER_CHANNELS = 6  # moment (3) + direction (3) per ray, before packing

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "CameraEncoder",
    "CameraEncoderConfig",
    "num_camera_tokens",
    "splice_camera_tokens",
]


@dataclass
class CameraEncoderConfig:
    """Sizes of the camera ViT and its projector (a Hydra structured config); defaults are the paper's.

    `out_hidden_size` is the LLM's hidden size: 3584 for Qwen2.5-Omni-7B, 2048 for 3B.
    """

    in_channels: int = 96
    patch_size: int = 16
    temporal_patch_size: int = 2
    merge_size: int = 2
    hidden_size: int = 1280
    depth: int = 8
    num_heads: int = 8
    mlp_ratio: float = 4.0
    out_hidden_size: int = 3584
    norm_eps: float = 1e-6

    def __post_init__(self):
        factor = math.isqrt(self.in_channels // PLUCKER_CHANNELS)
        if self.in_channels != PLUCKER_CHANNELS * factor**2:
            raise ValueError(
                f"in_channels {self.in_channels} is not {PLUCKER_CHANNELS} Plücker channels x factor**2 "
                "(pack_plucker's output: 96 for factor 4)"
            )
        positive = ("patch_size", "temporal_patch_size", "merge_size", "hidden_size", "depth", "num_heads")
        bad = {name: getattr(self, name) for name in positive if getattr(self, name) < 1}
        if bad:
            raise ValueError(f"camera encoder sizes must be positive, got {bad}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} does not split into {self.num_heads} heads")
        if self.hidden_size % 2:
            raise ValueError(f"hidden_size {self.hidden_size} must be even for sin-cos positions")

    @classmethod
    def paper(cls, out_hidden_size: int = 3584) -> CameraEncoderConfig:
        """Patch 16, depth 8, 8 heads over 96 channels (paper D.3); the rest Qwen2-VL's vision defaults."""
        return cls(out_hidden_size=out_hidden_size)

    @classmethod
    def tiny(cls, out_hidden_size: int = 128) -> CameraEncoderConfig:
        """~75K parameters, milliseconds on a CPU; 128 is the tiny thinker's text width."""
        return cls(
            patch_size=2, hidden_size=32, depth=2, num_heads=2, mlp_ratio=2.0, out_hidden_size=out_hidden_size
        )

    @property
    def pack_factor(self) -> int:
        """Frame pixels per packed position, per side (pack_plucker's `factor`)."""
        return math.isqrt(self.in_channels // PLUCKER_CHANNELS)

    @property
    def frame_multiple(self) -> int:
        """Frame height and width must be multiples of this: pack factor x patch x merge (128 for the paper)."""
        return self.pack_factor * self.patch_size * self.merge_size

    def save(self, file: str | Path) -> None:
        write_settings(self, file)

    @classmethod
    def load(cls, file: str | Path) -> CameraEncoderConfig:
        return cls(**read_settings(file, cls))


def _merged_grid(config: CameraEncoderConfig, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
    """(t, h, w) of the merged token grid for a packed map of `num_frames` x height x width positions."""
    if num_frames < 1:
        raise ValueError(f"a camera trajectory needs at least one frame, got {num_frames}")
    side = config.patch_size * config.merge_size
    if height % side or width % side:
        raise ValueError(
            f"packed Plücker map {height}x{width} is not a multiple of patch_size x merge_size = {side} "
            f"(frames must be multiples of {config.frame_multiple} pixels per side)"
        )
    return -(-num_frames // config.temporal_patch_size), height // side, width // side


def num_camera_tokens(config: CameraEncoderConfig, num_frames: int, height: int, width: int) -> int:
    """How many `<|camera_pad|>` tokens a trajectory of `num_frames` frames rendered at height x width
    pixels gives: ceil(T / temporal_patch) x (H / frame_multiple) x (W / frame_multiple).

    The prompt builder calls this before the encoder runs, as the thinker's processor counts image tokens.
    """
    factor = config.pack_factor
    if height % factor or width % factor:
        raise ValueError(f"frame {height}x{width} is not a multiple of the Plücker pack factor {factor}")
    t, h, w = _merged_grid(config, num_frames, height // factor, width // factor)
    return t * h * w


def _sincos(positions: Tensor, dim: int) -> Tensor:
    """[N] positions -> [N, dim] (sin | cos) at geometric frequencies, as in the Transformer and MAE."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))  # [dim/2]
    angles = positions.double()[:, None] * omega[None, :]  # [N, dim/2]
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


def sincos_3d(grid_t: int, grid_h: int, grid_w: int, dim: int) -> Tensor:
    """[t*h*w, dim] fixed positions of a (time, row, column) grid, in that order.

    A quarter of the channels encode time and the rest are split between rows and columns (Qwen's
    16/24/24 M-RoPE split, here for additive embeddings); every part has an even width.
    """
    dim_t = dim // 4 // 2 * 2
    dim_h = (dim - dim_t) // 2 // 2 * 2
    dim_w = dim - dim_t - dim_h
    t, h, w = torch.meshgrid(torch.arange(grid_t), torch.arange(grid_h), torch.arange(grid_w), indexing="ij")
    parts = [_sincos(t.flatten(), dim_t), _sincos(h.flatten(), dim_h), _sincos(w.flatten(), dim_w)]
    return torch.cat([p for p in parts if p.shape[-1]], dim=-1)  # [t*h*w, dim]


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """x [B, N, D]; mask [B, N] True at real tokens, None when nothing is padding."""
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.num_heads)
        attn_mask = None if mask is None else rearrange(mask, "b n -> b 1 1 n")  # keys only
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # [B, H, N, D/H]
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))  # [B, N, D]


class Block(nn.Module):
    """Pre-norm ViT block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, eps: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        x = x + self.attn(self.norm1(x), mask)  # [B, N, D]
        return x + self.mlp(self.norm2(x))  # [B, N, D]


class Projector(nn.Module):
    """Qwen's PatchMerger: LayerNorm per tubelet, concatenate merge x merge neighbours, 2-layer MLP."""

    def __init__(self, dim: int, out_dim: int, merge_size: int, eps: float):
        super().__init__()
        self.merge_size = merge_size
        merged = dim * merge_size**2
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(merged, merged), nn.GELU(), nn.Linear(merged, out_dim))

    def forward(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """x [t*H*W, D] tubelets of one trajectory in (t, row, col) order -> [t*(H/m)*(W/m), out_dim]."""
        t, h, w = grid  # the merged grid
        m = self.merge_size
        x = rearrange(self.norm(x), "(t h m1 w m2) d -> (t h w) (m1 m2 d)", t=t, h=h, w=w, m1=m, m2=m)
        return self.mlp(x)


class CameraEncoder(nn.Module):
    """Packed Plücker maps of a batch of trajectories -> camera token embeddings `[N_tokens, out_hidden]`."""

    def __init__(self, config: CameraEncoderConfig):
        super().__init__()
        self.config = config
        c = config
        tubelet = c.in_channels * c.temporal_patch_size * c.patch_size**2
        self.patch_embed = nn.Linear(tubelet, c.hidden_size, bias=False)  # Qwen's Conv3d, stride = kernel
        self.blocks = nn.ModuleList(
            Block(c.hidden_size, c.num_heads, c.mlp_ratio, c.norm_eps) for _ in range(c.depth)
        )
        self.projector = Projector(c.hidden_size, c.out_hidden_size, c.merge_size, c.norm_eps)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, maps: Sequence[Tensor] | Tensor, lengths: Tensor | Sequence[int] | None = None) -> Tensor:
        """`maps`: a list of `[T_i, C, h_i, w_i]` packed maps (pack_plucker's output), or a padded batch
        `[B, T_max, C, h, w]` with `lengths` [B] real frames per trajectory (all T_max if None).

        Returns `[sum_i num_camera_tokens(T_i, ...), out_hidden_size]`, trajectory after trajectory.
        """
        trajectories = self._trajectories(maps, lengths)
        weight = self.patch_embed.weight
        tokens, grids = [], []
        for frames in trajectories:
            frames = frames.to(device=weight.device, dtype=weight.dtype)  # [T, C, h, w]
            grid = _merged_grid(self.config, frames.shape[0], frames.shape[2], frames.shape[3])
            tokens.append(self._embed(frames, grid))  # [t*H*W, D] for the unmerged grid H = h/p
            grids.append(grid)
        x = pad_sequence(tokens, batch_first=True)  # [B, N_max, D]
        counts = torch.tensor([len(t) for t in tokens], device=x.device)  # [B]
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < counts[:, None]  # [B, N_max]
        mask = None if bool(mask.all()) else mask
        for block in self.blocks:
            x = block(x, mask)  # [B, N_max, D]
        merged = [self.projector(x[i, : len(t)], grid) for i, (t, grid) in enumerate(zip(tokens, grids))]
        return torch.cat(merged)  # [N_tokens, out_hidden]

    def _embed(self, frames: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """[T, C, h, w] -> [t*H*W, D] tubelet embeddings + positions, in (t, row, col) order."""
        c = self.config
        t, h, w = grid
        missing = t * c.temporal_patch_size - frames.shape[0]
        if missing:
            frames = torch.cat([frames, frames[-1:].expand(missing, *frames.shape[1:])])  # [t*tp, C, h, w]
        p = c.patch_size
        patches = rearrange(
            frames, "(t tp) c (h p1) (w p2) -> (t h w) (c tp p1 p2)", tp=c.temporal_patch_size, p1=p, p2=p
        )  # [t*H*W, C*tp*p*p]
        m = c.merge_size
        positions = sincos_3d(t, h * m, w * m, c.hidden_size).to(patches)  # [t*H*W, D]
        return self.patch_embed(patches) + positions

    def _trajectories(
        self, maps: Sequence[Tensor] | Tensor, lengths: Tensor | Sequence[int] | None
    ) -> list[Tensor]:
        """Validated list of [T_i, C, h_i, w_i] maps."""
        if isinstance(maps, Tensor):
            if maps.dim() != 5:
                raise ValueError(
                    "camera encoder: a tensor input must be a padded batch [B, T, C, h, w], "
                    f"got shape {list(maps.shape)} (pass one trajectory [T, C, h, w] as a list of one)"
                )
            batch = maps.shape[0]
            lengths = [maps.shape[1]] * batch if lengths is None else [int(n) for n in lengths]
            if len(lengths) != batch or not all(1 <= n <= maps.shape[1] for n in lengths):
                raise ValueError(
                    f"camera encoder: lengths {lengths} must give 1..{maps.shape[1]} frames "
                    f"for each of {batch} trajectories"
                )
            maps = [maps[i, :n] for i, n in enumerate(lengths)]
        elif lengths is not None:
            raise ValueError("camera encoder: lengths go with a padded batch tensor, not with a list of maps")
        maps = list(maps)
        if not maps:
            raise ValueError("camera encoder: no trajectories to encode")
        for i, frames in enumerate(maps):
            if not isinstance(frames, Tensor) or frames.dim() != 4:
                shape = list(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__
                raise ValueError(f"camera encoder: trajectory {i} must be a packed map [T, C, h, w], got {shape}")
            if frames.shape[1] != self.config.in_channels:
                raise ValueError(
                    f"camera encoder: trajectory {i} has {frames.shape[1]} channels, "
                    f"expected {self.config.in_channels} (pack_plucker's output), shape {list(frames.shape)}"
                )
        return maps

    def save_pretrained(self, folder: str | Path) -> None:
        """`folder/camera_encoder.safetensors` + `folder/camera_encoder.json`, beside an HF checkpoint."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {name: tensor.detach().contiguous().cpu() for name, tensor in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
        self.config.save(folder / CONFIG_FILE)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> CameraEncoder:
        folder = Path(folder)
        missing = [name for name in (WEIGHTS_FILE, CONFIG_FILE) if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} has no camera encoder: missing {', '.join(missing)}")
        model = cls(CameraEncoderConfig.load(folder / CONFIG_FILE))
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)), strict=True)
        return model


def splice_camera_tokens(
    inputs_embeds: Tensor, input_ids: Tensor, camera_embeds: Tensor, camera_pad_id: int
) -> Tensor:
    """Replace the embeddings at `<|camera_pad|>` positions with `camera_embeds`, in order.

    inputs_embeds [B, L, D], input_ids [B, L], camera_embeds [N, D] with N the number of
    placeholders: filled row by row, left to right, as the thinker splices its vision features.
    Returns a new tensor; gradients reach `camera_embeds`.
    """
    if inputs_embeds.shape[:-1] != input_ids.shape:
        raise ValueError(
            f"inputs_embeds {list(inputs_embeds.shape)} and input_ids {list(input_ids.shape)} disagree"
        )
    positions = input_ids == camera_pad_id  # [B, L]
    count = int(positions.sum())
    if count != camera_embeds.shape[0]:
        raise ValueError(
            f"{count} <|camera_pad|> tokens in input_ids but {camera_embeds.shape[0]} camera embeddings: "
            "the prompt and the encoder disagree on num_camera_tokens"
        )
    if camera_embeds.dim() != 2 or camera_embeds.shape[-1] != inputs_embeds.shape[-1]:
        raise ValueError(
            f"camera embeddings {list(camera_embeds.shape)} do not have the LLM width {inputs_embeds.shape[-1]}"
        )
    mask = rearrange(positions, "b l -> b l 1").expand_as(inputs_embeds)  # [B, L, D]
    return inputs_embeds.masked_scatter(mask, camera_embeds.to(inputs_embeds.dtype))
