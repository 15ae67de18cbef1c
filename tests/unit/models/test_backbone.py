from __future__ import annotations

import json
import shutil

import pytest
import torch
from peft import PeftModel
from safetensors import safe_open
from transformers import (
    Qwen2_5OmniConfig,
    Qwen2_5OmniForConditionalGeneration,
    Qwen2_5OmniThinkerConfig,
    Qwen2_5OmniThinkerForConditionalGeneration,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from reade.models.backbone import backbone_kind, load_backbone, load_processor, save_checkpoint
from reade.models.interpreter import target_loss
from reade.models.processing import InterpreterProcessor
from reade.models.tokenizer import load_tokenizer

TARGET = "<think>\nStep 1: rain.\n</think>\n<answer>\n1. Dense caption: rain.\n</answer>"
LORA = {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def logits(model, batch):
    model.eval()
    with torch.no_grad():
        return model(**batch).logits


def test_save_and_load_round_trip_keeps_logits(tiny_dir, tmp_path, media):
    model, processor = load_backbone(tiny_dir)
    batch = processor(["Garden, zoom in"], [[("identity", media["image"]), ("audio", media["audio"])]], [TARGET])
    saved = save_checkpoint(model, processor, tmp_path / "ckpt", config="seed: 0\n")
    assert (saved / "reade_config.yaml").read_text() == "seed: 0\n"
    reloaded, reprocessor = load_backbone(saved)
    assert torch.equal(logits(model, batch), logits(reloaded, batch))
    assert reprocessor.settings == processor.settings
    assert reloaded.generation_config.eos_token_id == processor.eos_token_id


def test_save_checkpoint_replaces_an_old_one_without_leftovers(tiny_dir, tmp_path):
    model, processor = load_backbone(tiny_dir)
    save_checkpoint(model, processor, tmp_path / "ckpt")
    (tmp_path / "ckpt" / "stale.txt").write_text("old")
    save_checkpoint(model, processor, tmp_path / "ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    assert not (tmp_path / "ckpt" / "stale.txt").exists()


def test_thinker_loads_from_a_full_omni_folder(tiny_dir, tmp_path):
    thinker_config = Qwen2_5OmniThinkerConfig.from_pretrained(tiny_dir)
    ids = thinker_config.to_dict()
    talker = dict(
        vocab_size=64, embedding_size=thinker_config.text_config.hidden_size, hidden_size=32, intermediate_size=64,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
        tts_codec_start_token_id=1, tts_codec_end_token_id=2, tts_codec_pad_token_id=3, tts_codec_mask_token_id=4,
        tts_text_start_token_id=5, tts_text_end_token_id=6, tts_text_pad_token_id=7,
        audio_token_index=ids["audio_token_index"], image_token_index=ids["image_token_index"],
        video_token_index=ids["video_token_index"], audio_start_token_id=ids["audio_start_token_id"],
        audio_end_token_id=ids["audio_end_token_id"], vision_start_token_id=ids["vision_start_token_id"],
        vision_end_token_id=ids["vision_end_token_id"],
    )  # fmt: skip
    token2wav = dict(
        dit_config=dict(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, head_dim=16, emb_dim=16, enc_emb_dim=16,
            enc_dim=16, enc_channels=[16, 16, 16, 16, 48], enc_attention_channels=16, enc_se_channels=16,
            num_embeds=65, mel_dim=16, look_ahead_layers=[1], look_backward_layers=[0],
        ),
        bigvgan_config=dict(
            mel_dim=16, upsample_initial_channel=16, upsample_rates=[2, 2], upsample_kernel_sizes=[4, 4],
            resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3, 5]],
        ),
    )  # fmt: skip
    config = Qwen2_5OmniConfig(thinker_config=thinker_config, talker_config=talker, token2wav_config=token2wav)
    torch.manual_seed(0)
    full = Qwen2_5OmniForConditionalGeneration(config)
    folder = tmp_path / "omni"
    full.save_pretrained(folder)
    with safe_open(folder / "model.safetensors", "pt") as weights:  # the hub layout, as in Qwen/Qwen2.5-Omni-7B
        keys = set(weights.keys())
    assert {"thinker.model.embed_tokens.weight", "thinker.visual.patch_embed.proj.weight"} <= keys
    assert any(k.startswith("talker.") for k in keys) and any(k.startswith("token2wav.") for k in keys)
    InterpreterProcessor.from_pretrained(tiny_dir).save_pretrained(folder)
    # Older configs lack the two vision bounds; the tokenizer must fill them in.
    raw = json.loads((folder / "config.json").read_text())
    assert raw["model_type"] == "qwen2_5_omni"
    for name in ("vision_start_token_id", "vision_end_token_id"):
        raw["thinker_config"].pop(name)
    (folder / "config.json").write_text(json.dumps(raw))

    thinker, processor = load_backbone(folder)
    expected, loaded = full.thinker.state_dict(), thinker.state_dict()
    assert expected.keys() == loaded.keys()
    assert all(torch.equal(expected[k], loaded[k]) for k in expected)
    assert not hasattr(thinker, "talker") and type(thinker).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    assert thinker.config.vision_start_token_id == processor.placeholder_ids["vision_start_token_id"]


def test_lora_trains_only_adapters_and_merged_save_reloads(tiny_dir, tmp_path, media):
    model, processor = load_backbone(tiny_dir, lora=LORA)
    assert isinstance(model, PeftModel)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n and ".language_model." in n for n in trainable)
    assert not any("audio_tower" in n for n in trainable)  # its q_proj/v_proj are not adapted
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    batch = processor(["Make it rain"], [[("depth", media["frames"])]], [TARGET])
    model.train()
    model(**batch).loss.backward()
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0).step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed and changed <= trainable

    expected = logits(model, batch)
    reloaded, _ = load_backbone(save_checkpoint(model, processor, tmp_path / "merged"))
    assert not isinstance(reloaded, PeftModel)
    assert torch.allclose(logits(reloaded, batch), expected, atol=1e-5)
    assert isinstance(model, PeftModel) and any(".lora_A." in n for n, _ in model.named_parameters())
    with torch.no_grad():
        model.generate(**processor(["hi"], [[("identity", media["image"])]]), max_new_tokens=2, do_sample=False)


def test_lora_can_be_switched_off_and_rejects_typos(tiny_dir):
    model, _ = load_backbone(tiny_dir, lora={**LORA, "enabled": False})
    assert not isinstance(model, PeftModel)
    with pytest.raises(ValueError, match=r"unknown \['rank'\], missing \['r'\]"):
        load_backbone(tiny_dir, lora={**{k: v for k, v in LORA.items() if k != "r"}, "rank": 4})


def test_causal_lm_path_is_text_only(tmp_path, media):
    tokenizer = load_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, processor = load_backbone(tmp_path, kind="causal_lm", lora=LORA)
    batch = processor(["Garden, zoom in", "a dog"], [[], []], [TARGET, "ok"])
    assert torch.isfinite(model(**batch).loss)
    torch.testing.assert_close(target_loss(model, **batch), model(**batch).loss, rtol=1e-5, atol=1e-5)  # LoRA-wrapped
    prompt = processor(["Garden, zoom in", "a dog"], [[], []])
    out = model.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert out.shape[0] == 2 and out.shape[1] <= prompt["input_ids"].shape[1] + 4
    with pytest.raises(ValueError, match="text-only"):
        processor(["x"], [[("identity", media["image"])]])
    reloaded, reprocessor = load_backbone(save_checkpoint(model, processor, tmp_path / "ckpt"), kind="causal_lm")
    assert reprocessor.settings.text_only
    assert torch.allclose(logits(reloaded, batch), logits(model, batch), atol=1e-5)
    assert backbone_kind(tmp_path) == "causal_lm" and load_processor(tmp_path, "causal_lm").settings.text_only


def test_load_processor_is_the_processor_of_load_backbone_without_the_weights(tiny_dir, monkeypatch):
    camera = dict(patch_size=2, hidden_size=32, depth=2, num_heads=2, mlp_ratio=2.0, max_frames=16, height=32, width=32)
    _, loaded = load_backbone(tiny_dir, camera_encoder=camera)
    monkeypatch.setattr(Qwen2_5OmniThinkerForConditionalGeneration, "from_pretrained",
                        lambda *args, **kwargs: pytest.fail("weights loaded"))
    alone = load_processor(tiny_dir, camera_encoder=camera)
    assert (alone.settings, alone.camera, alone.reserved_tokens) == (loaded.settings, loaded.camera, loaded.reserved_tokens)
    assert load_processor(tiny_dir).camera is None and backbone_kind(tiny_dir) == "omni_thinker"
    with pytest.raises(ValueError, match=r"unknown keys \['layers'\]"):
        load_processor(tiny_dir, camera_encoder={**camera, "layers": 3})


def test_bad_kind_and_dtype_are_rejected(tiny_dir):
    with pytest.raises(ValueError, match="kind"):
        load_backbone(tiny_dir, kind="diffusion")
    with pytest.raises(ValueError, match="dtype"):
        load_backbone(tiny_dir, dtype="fp8")


def test_bfloat16_loads_and_runs(tiny_dir, media):
    model, processor = load_backbone(tiny_dir, dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
    batch = processor(["x"], [[("identity", media["image"]), ("audio", media["audio"]), ("pose", media["frames"])]])
    assert torch.isfinite(logits(model, batch).float()).all()


def test_tokenizer_and_weights_that_disagree_are_refused(tiny_dir, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(tiny_dir, folder)
    raw = json.loads((folder / "config.json").read_text())
    raw["image_token_index"] = raw["video_token_index"]
    (folder / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="image_token_index=.* tokenizer and weights disagree"):
        load_backbone(folder)
