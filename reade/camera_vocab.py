"""The camera-motion vocabulary: the one list of words ReaDe uses for how a camera moves.

Every layer that names a motion imports it from here, so none can drift from another: the describer
(`reade.data.conditions.camera_motion`) names a trajectory's motions in these words, the camera
pretraining data draws its moves from them (`reade.data.synthetic.camera_moves`,
`reade.data.camera_captions`), the scene generator draws `SCENE_MOTIONS`, the rewards read them back
(`reade.rewards.camera_motion`, `reade.rewards.consistency`), the judges tell a motion from its
opposite (`reade.rewards.judges.embedding`, `reade.rewards.exclusive`), and the config's default
kinds and speeds are `KINDS` and `SPEEDS`. It imports nothing, so the data, the rewards and the
config can all import it without pulling in a model or Lightning.

The order of every tuple is part of the synthetic data: the generators draw from them by index, so
reordering one changes the data a seed gives.
"""

from __future__ import annotations

# Each kind with its two direction words, in the describer's order.
DIRECTIONS: dict[str, tuple[str, str]] = {
    "orbit": ("left", "right"),
    "pan": ("left", "right"),
    "tilt": ("up", "down"),
    "roll": ("clockwise", "counterclockwise"),
    "dolly": ("in", "out"),
    "truck": ("left", "right"),
    "pedestal": ("up", "down"),
    "zoom": ("in", "out"),
}
KINDS = tuple(DIRECTIONS)
STATIC = "static"  # the word for a camera that does not move
SPEEDS = ("slow", "moderate", "fast")
# Each direction word and its opposite ("in" and "out").
OPPOSITE = {word: other for one, two in DIRECTIONS.values() for word, other in ((one, two), (two, one))}
# Every motion the describer can name: "orbit left", ..., "zoom out".
MOTION_NAMES = tuple(f"{kind} {direction}" for kind, pair in DIRECTIONS.items() for direction in pair)
# The scene generator's ten: four kinds both ways, a static camera and an orbit whose direction its
# captions leave out (the synthetic orbit moves the camera to its left).
SCENE_MOTIONS = (*(f"{kind} {d}" for kind in ("pan", "tilt", "dolly", "zoom") for d in DIRECTIONS[kind]), STATIC, "orbit")
