"""experiments/condition_grounding/mix_start: the language model's tensors mixed toward the
backbone's at a hand-computed share, the rest left as the start has them, and bad input refused
before anything is written."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from experiments.condition_grounding.mix_start import WEIGHTS, main, mix


def tensors(value: float) -> dict[str, torch.Tensor]:
    return {
        "model.layers.0.mlp.weight": torch.full((2, 2), value),
        "lm_head.weight": torch.full((3,), value),
        "visual.blocks.0.weight": torch.full((2,), value),
    }


@pytest.mark.parametrize(("keep", "expected"), [(0.0, 1.0), (0.5, 3.0), (0.25, 2.0), (1.0, 5.0)])
def test_the_language_model_moves_toward_the_backbone_and_the_towers_stay(keep, expected):
    mixed, count = mix(tensors(5.0), tensors(1.0), ["model", "lm_head"], keep)
    assert count == 2
    assert torch.equal(mixed["model.layers.0.mlp.weight"], torch.full((2, 2), expected))
    assert torch.equal(mixed["lm_head.weight"], torch.full((3,), expected))
    assert torch.equal(mixed["visual.blocks.0.weight"], torch.full((2,), 5.0))


def test_a_part_is_a_whole_module_name_not_a_prefix_of_one():
    start = {"model_extra.weight": torch.ones(1), "model.weight": torch.ones(1)}
    mixed, count = mix(start, {"model.weight": torch.zeros(1)}, ["model"], 0.0)
    assert count == 1 and mixed["model_extra.weight"].item() == 1.0 and mixed["model.weight"].item() == 0.0


@pytest.mark.parametrize(("initial", "parts", "keep", "message"), [
    (tensors(1.0), ["thinker"], 0.5, r"\['thinker'\] name no tensor"),
    ({"lm_head.weight": torch.ones(3)}, ["model", "lm_head"], 0.5, "lacks or shapes otherwise 1 tensors"),
    ({**tensors(1.0), "lm_head.weight": torch.ones(4)}, ["lm_head"], 0.5, "e.g. lm_head.weight"),
    (tensors(1.0), ["model"], 1.5, "must lie in"),
])
def test_a_mix_that_would_be_partial_or_meaningless_is_refused(initial, parts, keep, message):
    with pytest.raises(ValueError, match=message):
        mix(tensors(5.0), initial, parts, keep)


def test_the_command_writes_a_complete_folder_and_refuses_to_overwrite(tmp_path, capsys):
    start, backbone, out = tmp_path / "start", tmp_path / "backbone", tmp_path / "out"
    for folder, value in ((start, 4.0), (backbone, 0.0)):
        folder.mkdir()
        save_file(tensors(value), folder / WEIGHTS)
    (start / "reade_config.yaml").write_text("stage:\n  name: ground\n")
    main([str(start), str(backbone), str(out), "--keep", "0.5"])
    assert load_file(out / WEIGHTS)["lm_head.weight"].tolist() == [2.0, 2.0, 2.0]
    assert (out / "reade_config.yaml").read_text() == "stage:\n  name: ground\n"
    assert "2 tensors" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([str(start), str(backbone), str(out), "--keep", "0.5"])
    assert "exists" in capsys.readouterr().err


def test_a_folder_without_weights_is_named(tmp_path, capsys):
    (tmp_path / "start").mkdir()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "start"), str(tmp_path / "start"), str(tmp_path / "out"), "--keep", "0"])
    assert f"{tmp_path / 'start' / WEIGHTS} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
