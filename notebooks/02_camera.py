# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 — Camera trajectories: the path, its Plücker maps, and two ways to put it into words
#
# A camera condition is a list of poses, one per frame. This notebook draws a few trajectories,
# shows the Plücker ray maps that the camera encoder reads instead of the raw poses, names each
# motion with the describer (pure geometry, no model; its words are the labels camera pretraining
# learns from), and then compares the describer's words with those of a trained camera encoder: the
# newest finished `stage=camera_pretrain` run of the project, or the run folder `$READE_CAMERA_RUN`
# names. It never trains.

# %%
import json
import math

import numpy as np
import torch
from IPython.display import display
from PIL import Image, ImageDraw

from reade.data.conditions.camera import CameraTrajectory
from reade.data.synthetic.camera_moves import sample_trajectory
from reade.results.runs import finished_stage_run
from reade.utils.project import project_root

rng = np.random.default_rng(0)
trajectories: dict[str, CameraTrajectory] = {}
for label, options in [
    ("pan", dict(kinds=["pan"])),
    ("dolly", dict(kinds=["dolly"])),
    ("orbit", dict(kinds=["orbit"])),
    ("zoom", dict(kinds=["zoom"])),
    ("combined", dict(combined=True)),
    ("static", dict(static=True)),
]:
    trajectories[label], description = sample_trajectory(rng, **options)
    print(f"{label:9s} {len(trajectories[label].w2c):2d} frames   drawn as: {description.text}")

# %% [markdown]
# A `CameraTrajectory` holds two arrays: `w2c` `[T, 3, 4]`, the world-to-camera matrix `[R | t]` of
# every frame (OpenCV axes: x right, y down, z forward), and `intrinsics` `[T, 4]`, the focal
# lengths and principal point `fx, fy, cx, cy` divided by the image size. You can build one by
# hand: here a camera that turns 30 degrees to the right over 8 frames without moving. The
# camera-to-world rotation of a turn by angle a about the vertical is a yaw; `w2c` stores its
# transpose and `t = -R c` for the camera centre `c`.

# %%
def yaw(angle: float) -> np.ndarray:
    """Camera-to-world rotation about the vertical (y) axis; a positive angle turns the view right."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def by_hand(angles_degrees, centre=np.zeros(3), focal=1.0) -> CameraTrajectory:
    w2c = np.zeros((len(angles_degrees), 3, 4), dtype=np.float32)
    for frame, angle in enumerate(angles_degrees):
        rotation = yaw(math.radians(angle)).T  # world-to-camera R
        w2c[frame, :, :3] = rotation
        w2c[frame, :, 3] = -rotation @ centre  # t = -R c
    intrinsics = np.tile(np.float32([focal, focal, 0.5, 0.5]), (len(angles_degrees), 1))
    return CameraTrajectory(intrinsics=intrinsics, w2c=w2c)


trajectories["by hand"] = by_hand(np.linspace(0, 30, 8))
# A pan that comes back: right by 30 degrees, then left again to where it started.
trajectories["there and back"] = by_hand(np.concatenate([np.linspace(0, 30, 5), np.linspace(30, 0, 5)[1:]]))
print(trajectories["by hand"].w2c[-1].round(3))

# %% [markdown]
# ## 1. The path
#
# The camera centre of a frame is `c = -R^T t`, and its viewing direction (the camera's z axis in
# world coordinates) is the third row of `R`. The synthetic trajectories start at a random place
# in a random world frame, which says nothing about how the camera *moves*, so each path is drawn
# in the first camera's axes, as the processor and the describer read it
# (`reade.models.camera_input.relative_to_first`): the first camera sits at the origin and looks
# along z. Green is the first frame, red the last; arrows show where the camera looks.
#
# The plots are drawn with Pillow (a dependency of the package) in an oblique view, up is up.
# The zoom and static paths barely move: the synthetic paths carry a little simulated hand-held
# jitter, far below the describer's thresholds. A zoom changes the focal length only, which the
# Plücker directions below make visible. In "there and back" the last arrow (red) covers the first.

# %%
from reade.models.camera_input import relative_to_first


def centres_and_forward(trajectory: CameraTrajectory) -> tuple[np.ndarray, np.ndarray]:
    """[T, 3] camera centres and [T, 3] viewing directions, in the first camera's axes."""
    w2c = relative_to_first(trajectory.w2c)
    rotation, translation = w2c[:, :, :3], w2c[:, :, 3]
    centres = -np.einsum("tji,tj->ti", rotation, translation)  # c = -R^T t
    return centres, rotation[:, 2, :]  # z axis of each camera = third row of R


def oblique(points: np.ndarray, azimuth=math.radians(-50), elevation=math.radians(25)) -> np.ndarray:
    """[N, 3] OpenCV-axis points -> [N, 2] screen coordinates (x right, up up) of an orthographic view."""
    ground_x, ground_y, height = points[:, 0], points[:, 2], -points[:, 1]  # y points down
    across = ground_x * math.cos(azimuth) - ground_y * math.sin(azimuth)
    depth = ground_x * math.sin(azimuth) + ground_y * math.cos(azimuth)
    return np.stack([across, height * math.cos(elevation) + depth * math.sin(elevation)], axis=1)


def draw_path(trajectory: CameraTrajectory, title: str, size=(330, 270)) -> Image.Image:
    centres, forward = centres_and_forward(trajectory)
    span = float(np.ptp(centres, axis=0).max())
    arrow = max(0.6, 0.3 * span)
    tips = centres + arrow * forward
    axes = np.array([[0, 0, 0], [arrow, 0, 0], [0, 0, arrow], [0, -arrow, 0]])  # origin, x, z, up
    screen = oblique(np.concatenate([centres, tips, axes]))
    low, high = screen.min(0), screen.max(0)
    margin, top = 24, 34
    extent = np.maximum(high - low, 1e-6)
    scale = min((size[0] - 2 * margin) / extent[0], (size[1] - top - margin) / extent[1])

    def pixel(point):
        return (margin + (point[0] - low[0]) * scale, size[1] - margin - (point[1] - low[1]) * scale)

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    origin = pixel(screen[-4])
    for end, name in zip(screen[-3:], ("x", "z", "up")):
        draw.line([origin, pixel(end)], fill=(180, 180, 180), width=1)
        draw.text(pixel(end), name, fill=(150, 150, 150))
    count = len(centres)
    path = [pixel(p) for p in screen[:count]]
    for frame in range(count):
        shade = frame / max(count - 1, 1)
        colour = (int(220 * shade), int(160 * (1 - shade)), 40)  # green -> red
        start, end = path[frame], pixel(screen[count + frame])
        draw.line([start, end], fill=colour, width=2)
        draw.ellipse([end[0] - 2, end[1] - 2, end[0] + 2, end[1] + 2], fill=colour)  # arrow head
    if count > 1:
        draw.line(path, fill=(40, 40, 40), width=2)
    for point, colour in ((path[0], (0, 160, 40)), (path[-1], (220, 0, 40))):
        draw.ellipse([point[0] - 4, point[1] - 4, point[0] + 4, point[1] + 4], fill=colour)
    draw.text((6, 4), title, fill="black")
    length = np.linalg.norm(np.diff(centres, axis=0), axis=1).sum()
    draw.text((6, 18), f"{count} frames, path length {length:.2f}", fill=(90, 90, 90))
    return image


def grid(images: list[Image.Image], columns: int) -> Image.Image:
    width, height = images[0].size
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * width, rows * height), "white")
    for index, image in enumerate(images):
        left, top = (index % columns) * width, (index // columns) * height
        sheet.paste(image, (left, top))
        ImageDraw.Draw(sheet).rectangle([left, top, left + width - 1, top + height - 1], outline=(210, 210, 210))
    return sheet


display(grid([draw_path(t, label) for label, t in trajectories.items()], columns=4))

# %% [markdown]
# ## 2. Plücker ray maps
#
# The encoder does not read `[R | t]`. Every pixel of a frame has a viewing ray: the line through
# the camera centre `o` with unit direction `d` (world axes). Its Plücker coordinates `(o x d, d)`
# name the line itself, not a point on it, and they are smooth in the camera pose, which a raw
# `[R | t]` is not (`reade.data.conditions.plucker`). So a frame becomes an image with six channels,
# `[T, 6, H, W]`, in CameraCtrl's order: the moment `o x d` in channels 0-2, the direction `d` in
# channels 3-5.
#
# Below, the orbit (poses relative to the first camera, as the encoder gets them), first and last
# frame, one tile per channel: blue negative, white zero, red positive, one colour scale per channel
# across both frames (at least ±0.1). In the first frame `o = 0`, so the moment is zero
# everywhere; the direction channels show the field of view. In the last frame the camera has
# turned and moved: the directions have rotated and the moment is no longer zero.

# %%
from reade.data.conditions.plucker import pack_plucker, plucker_rays

CHANNELS = ["moment x", "moment y", "moment z", "direction x", "direction y", "direction z"]


def rays_of(trajectory: CameraTrajectory, height: int, width: int) -> torch.Tensor:
    w2c = torch.from_numpy(relative_to_first(trajectory.w2c).astype(np.float32))
    return plucker_rays(torch.from_numpy(trajectory.intrinsics), w2c, height, width)  # [T, 6, H, W]


def diverging(values: np.ndarray, scale: float) -> np.ndarray:
    """[H, W] -> [H, W, 3] uint8: blue below zero, white at zero, red above."""
    a = np.clip(values / max(scale, 1e-6), -1.0, 1.0)
    red = np.where(a < 0, 1 + a, 1.0)
    blue = np.where(a > 0, 1 - a, 1.0)
    return (255 * np.stack([red, 1 - np.abs(a), blue], axis=-1)).astype(np.uint8)


def channel_sheet(rays: torch.Tensor, frames: list[int], zoom: int = 2) -> Image.Image:
    tile_h, tile_w = rays.shape[-2] * zoom, rays.shape[-1] * zoom
    label_w, head = 70, 16
    sheet = Image.new("RGB", (label_w + 6 * (tile_w + 4), head + len(frames) * (tile_h + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    chosen = rays[frames].numpy()  # [F, 6, H, W]
    for c, name in enumerate(CHANNELS):
        scale = max(float(np.abs(chosen[:, c]).max()), 0.1)  # a floor, so that jitter stays pale
        draw.text((label_w + c * (tile_w + 4), 2), f"{name} ±{scale:.2f}", fill="black")
        for row, frame in enumerate(frames):
            tile = Image.fromarray(diverging(chosen[row, c], scale)).resize((tile_w, tile_h), Image.NEAREST)
            sheet.paste(tile, (label_w + c * (tile_w + 4), head + row * (tile_h + 4)))
    for row, frame in enumerate(frames):
        draw.text((4, head + row * (tile_h + 4) + tile_h // 2), f"frame {frame}", fill="black")
    return sheet


orbit = trajectories["orbit"]
rays = rays_of(orbit, height=64, width=96)
print("plucker_rays:", tuple(rays.shape), "= [T, 6, H, W]")
display(channel_sheet(rays, [0, len(rays) - 1]))

# %% [markdown]
# The zoom in, same layout: the camera barely moves, so the moment stays near zero, but the
# directions of the last frame spread over a narrower range (the colour scale is shared by both
# frames), because a longer focal length narrows the field of view.

# %%
zoom_rays = rays_of(trajectories["zoom"], height=64, width=96)
display(channel_sheet(zoom_rays, [0, len(zoom_rays) - 1]))
print("focal length, first and last frame:", trajectories["zoom"].intrinsics[[0, -1], 0])

# %% [markdown]
# ### From 6 channels to the encoder's 96
#
# The paper's camera encoder (appendix D.3) is a ViT with **96 input channels** and does not say
# how the 6-channel maps reach it. `pack_plucker` stacks every 4 x 4 block of rays into one
# position: 6 x 4 x 4 = 96 channels, so every ray is kept (nothing is averaged away) and the map
# shrinks 4x per side; a 16-pixel patch of the packed map then spans 64 pixels of the frame. It is
# a pixel-unshuffle, as CameraCtrl's pose encoder does with factor 8, and its channel order is
# `torch.nn.functional.pixel_unshuffle`'s.
#
# `camera_maps` is what the processor hands the encoder for one trajectory: poses made relative to
# the first camera; more than `max_frames` frames subsampled evenly, first and last kept (the net
# motion is unchanged); rays rendered at `height` x `width` (normalised intrinsics, so any clip
# renders at any size); packed into 96 channels. The processor counts the prompt's
# `<|camera_pad|>` tokens from the same numbers before any map is built.

# %%
from reade.models.camera_encoder import CameraEncoderConfig
from reade.models.camera_input import CameraInputSettings, camera_maps

packed = pack_plucker(rays)
print("pack_plucker:", tuple(rays.shape), "->", tuple(packed.shape))
print("equals pixel_unshuffle:", torch.equal(packed, torch.nn.functional.pixel_unshuffle(rays, 4)))

sizes = {
    "tiny profile (CPU)": (CameraEncoderConfig.tiny(), CameraInputSettings(max_frames=16, height=32, width=32)),
    "paper-sized": (CameraEncoderConfig.paper(), CameraInputSettings()),  # 16 frames at 256 x 384
}
for name, (encoder, settings) in sizes.items():
    print(f"\n{name}: {settings.max_frames} frames at {settings.height} x {settings.width}")
    for label in ("pan", "dolly", "combined"):
        t = trajectories[label]
        maps = camera_maps(t, settings, encoder.pack_factor)
        tokens = settings.num_tokens(encoder, len(t.w2c))
        print(f"  {label:9s} {len(t.w2c):2d} frames -> camera_maps {tuple(maps.shape)} -> {tokens} camera tokens")

# %% [markdown]
# ## 3. The describer's words
#
# `describe_camera` names the motion from geometry alone: the net change from the first to the
# last frame in the first camera's axes, as yaw (pan), pitch (tilt) and roll angles, the move of
# the centre along x (truck), y (pedestal) and z (dolly), the focal-length ratio (zoom), and an
# orbit when the camera turns while keeping one point ahead centred. A speed word comes from the
# size of the change. These words are the labels the camera encoder learns to say, and
# `camera_motion_correct(text, names)` is the metric: does a caption name exactly these motions
# with their directions (speed words are not scored)?
#
# Because it reads the net change only, the pan that comes back reads as static: a limit the
# module's docstring states.

# %%
from reade.data.conditions.camera_motion import describe_camera
from reade.rewards.camera_motion import camera_motion_correct

descriptions = {label: describe_camera(t) for label, t in trajectories.items()}
for label, d in descriptions.items():
    print(f"{label:15s} text: {d.text!r}")
    print(f"{'':15s} names: {d.names}   scored: {camera_motion_correct(d.text, d.names)}")
    for motion in d.motions:
        print(f"{'':15s}   {motion}")

# %% [markdown]
# ## 4. The encoder's words
#
# Camera pretraining (`stage=camera_pretrain`, DESIGN.md section 1) puts the encoder in front of the
# language model and trains it on camera-to-text pairs: a synthetic trajectory, an instruction such
# as "Describe the camera motion.", and the describer's caption as the target. In the paper's recipe
# the language model is a pretrained LLM and stays frozen; only the encoder and its projector learn.
# The tiny CPU profile (`conf/profile/camera_pretrain_tiny.yaml`) trains the thinker as well
# (`stage.train_backbone`, printed below): the tiny thinker is a randomly initialised 2-layer model,
# not a language model, and frozen it cannot be steered into words by any encoder
# (`experiments/camera_pretrain_tiny/README.md` measures it).
#
# This notebook reads a finished run of that stage: `$READE_CAMERA_RUN` when set, else the newest
# one of the project, a `python -m reade.train stage=camera_pretrain` job under `logs/` or a run the
# stage cache trained under `.cache/stages/` as another stage's upstream. The run decoded held-out
# trajectories before and after training and wrote `<run>/metrics.json` and the exported HF folder
# `<run>/checkpoint` (the thinker plus `camera_encoder.safetensors`). Without a run the cell below
# says how to make one.

# %%
project = project_root()  # the clone the kernel starts in, or $READE_ROOT
run = finished_stage_run(project, "camera_pretrain", "READE_CAMERA_RUN")
print("run:", run)

# %% [markdown]
# Load the exported folder like any checkpoint: `load_backbone` returns the `InterpreterModel`
# (thinker + camera encoder) and its `InterpreterProcessor`, which lays out a prompt with the
# right number of `<|camera_pad|>` tokens and returns the packed maps as `camera_maps`. Then decode
# greedily and compare with the describer, for the trajectories drawn above.

# %%
from omegaconf import OmegaConf

from transformers.utils import logging as hf_logging

from reade.data.camera_captions import INSTRUCTIONS
from reade.models.backbone import load_backbone

hf_logging.disable_progress_bar()
model, processor = load_backbone(str(run / "checkpoint"))
model.eval()
config = OmegaConf.load(run / "checkpoint" / "reade_config.yaml")
print("camera input:", processor.camera.input)
print("thinker trained in this stage too (stage.train_backbone):", bool(config.stage.get("train_backbone", False)))
steps = config.stage.max_steps

labels = list(trajectories)
batch = processor(instructions=[INSTRUCTIONS[0]] * len(labels), conditions=[[("camera", trajectories[k])] for k in labels])
print("batch:", {k: tuple(v.shape) if torch.is_tensor(v) else [tuple(m.shape) for m in v] for k, v in batch.items()})
with torch.no_grad():
    generated = model.generate(**batch, max_new_tokens=32, do_sample=False)
words = processor.decode(generated[:, batch["input_ids"].shape[1]:])

print(f"\n{'trajectory':15s} {'describer':38s} {f'encoder ({steps} steps)':48s} right")
for label, text in zip(labels, words):
    gold = descriptions[label]
    shown = text if len(text) <= 46 else text[:43] + "..."
    print(f"{label:15s} {gold.text:38s} {shown!r:48s} {camera_motion_correct(text, gold.names)}")

# %%
metrics = json.loads((run / "metrics.json").read_text())
for key in ("eval/camera_motion_acc_before", "eval/camera_motion_acc", "eval/camera_motion_acc_single",
            "eval/camera_motion_acc_combined", "data/test_majority_motion_acc", "data/test_rows", "train/loss"):
    print(f"{key:36s} {metrics.get(key)}")

# %% [markdown]
# Read these numbers with the run's size in mind: a short run is far from converged, and a few dozen
# held-out trajectories are a small test (`data/test_rows`; of 32, one caption is about 3 points of
# accuracy). Expect words that have the describer's shape ("a slow pan left") but often name the wrong motion or direction,
# and two-motion captions to be wrong more often than single ones (`_single` and `_combined`
# above). The metric is strict: an orbit is a turn and a sideways move that keep one point
# centred, so a caption saying "pan" and "truck" names the parts, not the orbit, and counts as wrong. `eval/camera_motion_acc_before` is the same decoding before training, and
# `data/test_majority_motion_acc` the chance-level reference (always answering the commonest
# training caption).
#
# The full tiny run, with the profile's own schedule and data sizes, is
#
# ```bash
# python -m reade.train stage=camera_pretrain
# ```
#
# and its figures, with those of the frozen-backbone probes, are in
# `experiments/camera_pretrain_tiny/README.md`. The paper's setting, a pretrained Qwen2.5-Omni
# behind the encoder, needs a GPU:
# `python -m reade.train stage=camera_pretrain backbone=qwen2_5_omni_7b trainer=gpu`.
