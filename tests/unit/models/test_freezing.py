import pytest
from torch import nn

from reade.models.freezing import freeze


def interpreter_like() -> nn.Module:
    """The module tree of InterpreterModel in miniature: thinker.{visual, audio_tower, model}, camera_encoder."""
    thinker = nn.Module()
    thinker.visual = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    thinker.audio_tower = nn.Linear(2, 2)
    thinker.model = nn.Linear(2, 2)
    root = nn.Module()
    root.thinker = thinker
    root.camera_encoder = nn.Linear(2, 2)
    return root


def trainable(model: nn.Module) -> list[str]:
    return sorted(name for name, p in model.named_parameters() if p.requires_grad)


@pytest.mark.parametrize(
    "parts, frozen, still_trained",
    [
        ([], 0, ["camera_encoder.bias", "camera_encoder.weight", "thinker.audio_tower.bias", "thinker.audio_tower.weight",
                 "thinker.model.bias", "thinker.model.weight", "thinker.visual.0.bias", "thinker.visual.0.weight",
                 "thinker.visual.1.bias", "thinker.visual.1.weight"]),
        (["visual", "audio_tower"], 6, ["camera_encoder.bias", "camera_encoder.weight", "thinker.model.bias", "thinker.model.weight"]),
        (["thinker.visual"], 4, ["camera_encoder.bias", "camera_encoder.weight", "thinker.audio_tower.bias",
                                 "thinker.audio_tower.weight", "thinker.model.bias", "thinker.model.weight"]),
        (["visual.1"], 2, ["camera_encoder.bias", "camera_encoder.weight", "thinker.audio_tower.bias",
                           "thinker.audio_tower.weight", "thinker.model.bias", "thinker.model.weight",
                           "thinker.visual.0.bias", "thinker.visual.0.weight"]),
        (["thinker"], 8, ["camera_encoder.bias", "camera_encoder.weight"]),
    ],
)
def test_freeze_stops_gradients_under_each_named_part(parts, frozen, still_trained):
    model = interpreter_like()
    assert freeze(model, parts) == frozen
    assert trainable(model) == still_trained


def test_a_part_matches_whole_components_only():
    """`visua` is a typo, not a prefix of `visual`: refused with the model's modules named."""
    model = interpreter_like()
    with pytest.raises(ValueError, match=r"^\['visua'\] name no parameter of the model; its modules include camera_encoder, thinker.audio_tower, thinker.model, thinker.visual.0, thinker.visual.1$"):
        freeze(model, ["visual", "visua"])
    assert len(trainable(model)) == 10  # nothing frozen when any part is wrong


def test_a_part_inside_a_wrapper_is_found():
    """peft puts the thinker under base_model.model; the part still names it."""
    wrapper = nn.Module()
    wrapper.base_model = nn.Module()
    wrapper.base_model.model = interpreter_like()
    assert freeze(wrapper, ["audio_tower"]) == 2
    assert not any(p.requires_grad for p in wrapper.base_model.model.thinker.audio_tower.parameters())
