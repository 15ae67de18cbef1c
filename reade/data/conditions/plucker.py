"""Plücker ray maps: how the camera encoder sees a camera trajectory.

A pixel's viewing ray is the line through the camera centre o with unit direction d (world axes).
Its Plücker coordinates (o x d, d) name the line itself, not a point on it, so they do not depend
on where along the ray the origin is taken, and they are smooth in the camera pose, which a raw
[R | t] is not. The channel order is CameraCtrl's `ray_condition`: the moment o x d in channels
0-2, the direction d in channels 3-5 (its variable is called `rays_dxo`, but it computes
`cross(rays_o, rays_d)`). Following it keeps maps interchangeable with CameraCtrl-style encoders.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor

from reade.data.conditions.camera import CameraTrajectory

PACK_FACTOR = 4


def plucker_rays(intrinsics: Tensor, w2c: Tensor, height: int, width: int) -> Tensor:
    """[T, 6, H, W] Plücker map, one ray through every pixel centre (u + 0.5, v + 0.5).

    `intrinsics` [T, 4] are fx, fy, cx, cy normalised by the image size, so one trajectory serves
    every resolution; `w2c` [T, 3, 4] are world-to-camera matrices in OpenCV axes.
    """
    scale = intrinsics.new_tensor([width, height, width, height])
    fx, fy, cx, cy = rearrange(intrinsics * scale, "t k -> k t 1")  # each [T, 1], pixel units
    v, u = torch.meshgrid(
        torch.arange(height, dtype=w2c.dtype, device=w2c.device) + 0.5,
        torch.arange(width, dtype=w2c.dtype, device=w2c.device) + 0.5,
        indexing="ij",
    )
    u, v = rearrange(u, "h w -> 1 (h w)"), rearrange(v, "h w -> 1 (h w)")  # [1, H*W]
    x, y = (u - cx) / fx, (v - cy) / fy  # [T, H*W]
    camera_dirs = torch.stack([x, y, torch.ones_like(x)], dim=-1)  # [T, H*W, 3] = K^-1 [u, v, 1]
    rotation = w2c[:, :, :3]  # [T, 3, 3] world-to-camera; its transpose is camera-to-world
    dirs = torch.einsum("tji,tnj->tni", rotation, camera_dirs)  # [T, H*W, 3] world directions
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    origin = -torch.einsum("tji,tj->ti", rotation, w2c[:, :, 3])  # [T, 3] camera centre -R^T t
    moment = torch.linalg.cross(origin[:, None, :].expand_as(dirs), dirs, dim=-1)  # [T, H*W, 3]
    rays = torch.cat([moment, dirs], dim=-1)  # [T, H*W, 6]
    return rearrange(rays, "t (h w) c -> t c h w", h=height)


def pack_plucker(rays: Tensor, factor: int = PACK_FACTOR) -> Tensor:
    """[T, 6 * factor**2, H / factor, W / factor]: each factor x factor block of rays becomes one
    position with all its rays stacked as channels (a pixel-unshuffle, as CameraCtrl's pose encoder
    does with factor 8).

    Why 96: the paper's camera encoder is a ViT with 96 input channels and does not say how the
    6-channel maps reach it; 6 x 4 x 4 = 96 keeps every ray (nothing is averaged away) and shrinks
    the map 4x per side, so a 16-pixel patch of the packed map spans 64 pixels of the frame.
    Channel order matches `torch.nn.functional.pixel_unshuffle`: channel c * factor**2 + i * factor
    + j holds Plücker channel c of the pixel at row offset i, column offset j within the block.
    """
    height, width = rays.shape[-2:]
    if height % factor or width % factor:
        raise ValueError(
            f"pack_plucker: height {height} and width {width} must both be divisible by factor {factor}"
        )
    return rearrange(rays, "t c (h i) (w j) -> t (c i j) h w", i=factor, j=factor)


def trajectory_plucker(trajectory: CameraTrajectory, height: int, width: int) -> Tensor:
    """[T, 6, H, W] Plücker map of a trajectory read from disk (numpy arrays)."""
    return plucker_rays(
        torch.from_numpy(trajectory.intrinsics), torch.from_numpy(trajectory.w2c), height, width
    )
