from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import load_file

from reade.models.backbone import load_backbone
from reade.models.processing import SYSTEM_PROMPT, InterpreterProcessor
from reade.models.tiny import TinyDims, materialize_tiny, mrope_section, tiny_thinker_config
from reade.models.tokenizer import load_tokenizer, placeholder_ids


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    model, processor = load_backbone(tiny_dir)
    return model.eval(), processor


@pytest.mark.parametrize("head_dim", [8, 16, 32, 64, 128])
def test_mrope_section_fills_half_the_head(head_dim):
    section = mrope_section(head_dim)
    assert sum(section) == head_dim // 2 and min(section) > 0
    if head_dim == 128:
        assert section == [16, 24, 24]  # Qwen2.5-Omni's own split


def test_config_rejects_token_ids_outside_the_vocabulary():
    ids = placeholder_ids(load_tokenizer()) | {"user_token_id": 5, "pad_token_id": 0, "eos_token_id": 2}
    config = tiny_thinker_config(3000, ids, TinyDims())
    assert config.vision_start_token_id == ids["vision_start_token_id"]
    assert config.text_config.rope_parameters["mrope_section"] == [4, 6, 6]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tiny_thinker_config(5, ids, TinyDims())


def test_materialize_is_deterministic_idempotent_and_leaves_rng_alone(tmp_path, tiny_dir):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    again = materialize_tiny(tmp_path / "a", TinyDims(), seed=0)
    assert torch.equal(torch.rand(3), expected)
    assert again.name == tiny_dir.name
    first, second = load_file(tiny_dir / "model.safetensors"), load_file(again / "model.safetensors")
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)

    stamp = os.stat(again / "model.safetensors").st_mtime_ns
    assert materialize_tiny(tmp_path / "a", TinyDims(), seed=0) == again
    assert os.stat(again / "model.safetensors").st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "a").iterdir()] == [again.name]

    other = materialize_tiny(tmp_path / "a", TinyDims(), seed=1)
    assert other != again
    weights = load_file(other / "model.safetensors")
    assert not torch.equal(weights["lm_head.weight"], first["lm_head.weight"])


def test_the_system_turn_is_part_of_the_build_and_of_its_key(tmp_path, tiny_dir):
    short = materialize_tiny(tmp_path, TinyDims(system_prompt=""), seed=0)
    assert short.name != tiny_dir.name
    assert InterpreterProcessor.from_pretrained(short).settings.system_prompt == ""
    assert InterpreterProcessor.from_pretrained(tiny_dir).settings.system_prompt == SYSTEM_PROMPT


def test_an_interrupted_build_leaves_no_folder(tmp_path, monkeypatch):
    def crash(self, folder):
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(InterpreterProcessor, "save_pretrained", crash)
    with pytest.raises(RuntimeError, match="killed"):
        materialize_tiny(tmp_path, TinyDims(), seed=0)
    assert list(tmp_path.iterdir()) == []


def test_tiny_is_small(tiny):
    model, processor = tiny
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    assert model.config.text_config.vocab_size == len(processor.tokenizer)


def test_forward_with_labels_gives_a_finite_loss_and_gradients(tiny_dir, media):
    model, processor = load_backbone(tiny_dir)
    conditions = [[("identity", media["image"]), ("depth", media["frames"])], [("audio", media["audio"])]]
    batch = processor(["Garden, zoom in", ""], conditions, targets=["<think>\nok\n</think>", "<answer>\nx\n</answer>"])
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0
    for tower in ("model.visual.", "model.audio_tower.", "model.language_model.", "lm_head."):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(tower) and p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads), tower
        assert any(g.abs().sum() > 0 for g in grads), tower


CASES = {
    "text": lambda m: ([], []),
    "image": lambda m: ([("identity", m["image"])], [("identity", m["image"]), ("identity", m["image"][:40])]),
    "video": lambda m: ([("depth", m["frames"])], [("pose", m["frames"][:3])]),
    "audio": lambda m: ([("audio", m["audio"])], []),
    "all": lambda m: (
        [("identity", m["image"]), ("depth", m["frames"]), ("pose", m["frames"]), ("audio", m["audio"])],
        [("audio", m["audio"]), ("identity", m["image"])],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_greedy_generate_on_a_left_padded_batch_matches_one_by_one(tiny, media, case):
    model, processor = tiny
    instructions = ["A garden, zoom in", "A dog runs quickly along the beach at sunset while the camera pans left"]
    conditions = list(CASES[case](media))
    batch = processor(instructions, conditions)
    assert (batch["attention_mask"][:, -1] == 1).all() and (batch["attention_mask"][:, 0] == 0).any()
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=8, do_sample=False)
    new = out[:, batch["input_ids"].shape[1] :]
    assert new.shape[0] == 2 and 1 <= new.shape[1] <= 8
    assert all(isinstance(text, str) for text in processor.decode(new))
    for row in range(2):
        single = processor([instructions[row]], [conditions[row]])
        with torch.no_grad():
            alone = model.generate(**single, max_new_tokens=8, do_sample=False)[:, single["input_ids"].shape[1] :]
        length = alone.shape[1]
        assert torch.equal(new[row, :length], alone[0])
