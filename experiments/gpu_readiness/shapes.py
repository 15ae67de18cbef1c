"""The real Qwen2.5-Omni-3B and -7B thinker sizes, in one place, and the models built from them with
random weights: no hub, no download, the true shapes (memory and speed, not quality).

Sources of `DIMS` and `VOCAB`: the `thinker_config` of `config.json` in the hub repositories
Qwen/Qwen2.5-Omni-7B and Qwen/Qwen2.5-Omni-3B. The 7B values are also transformers 5.25's defaults
of `Qwen2_5OmniTextConfig`, `Qwen2_5OmniVisionEncoderConfig` (its `hidden_size` is the tower's
width, 1280; its `3584` default is `out_hidden_size`'s) and `Qwen2_5OmniAudioEncoderConfig`. The 3B
has the same towers (Qwen2.5-VL's ViT, Whisper-large-v3's encoder) projecting to its width, 2048.
Not confirmed for the 3B: whether its `lm_head` is tied to the embeddings; both are built untied
(the thinker config's default, as in the 7B); tied would be vocab x hidden = 311 M parameters fewer.

A thinker is built by the repository's own `tiny_thinker_config` from these sizes (same fields,
real values; the vision tower's full-attention layer list only changes which layers attend
windowed, not a parameter), with the placeholder ids of the tiny tokenizer, which lie inside the
real vocabulary: the processor that lays out the measured batches is the tiny one. The camera
encoder is `reade.models.camera_encoder` at the stage's sizes (the paper's ViT for 3B/7B).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

from reade.models.backbone import DTYPES, OMNI_LANGUAGE_MODEL, new_camera_support
from reade.models.camera_encoder import CameraEncoder
from reade.models.interpreter import InterpreterModel
from reade.models.lora import apply_lora
from reade.models.processing import InterpreterProcessor
from reade.models.settings import ProcessorSettings
from reade.models.tiny import TinyDims, thinker_token_ids, tiny_processor_settings, tiny_thinker_config
from reade.models.tokenizer import TINY_TOKENIZER_DIR, load_tokenizer

SIZES = ("3b", "7b")
# The towers of both: vision 32 layers, width 1280, 16 heads, MLP 3420; audio 32 layers, d_model 1280,
# 20 heads, FFN 5120.
_TOWERS = dict(vision_depth=32, vision_hidden=1280, vision_heads=16, vision_intermediate=3420,
               audio_layers=32, audio_d_model=1280, audio_heads=20, audio_ffn=5120)
DIMS = {
    "3b": TinyDims(text_hidden=2048, text_layers=36, text_heads=16, text_kv_heads=2, text_intermediate=11008, **_TOWERS),
    "7b": TinyDims(text_hidden=3584, text_layers=28, text_heads=28, text_kv_heads=4, text_intermediate=18944, **_TOWERS),
    "tiny": TinyDims(),
}
VOCAB = {"3b": 151936, "7b": 152064}  # "tiny": the tiny tokenizer's own size
BACKBONE = {"3b": "qwen2_5_omni_3b", "7b": "qwen2_5_omni_7b", "tiny": "tiny"}  # conf/backbone/<name>.yaml
# What the measured batches hold at the real sizes: one identity image of 448 x 448 (256 tokens),
# 8 depth frames at 224 x 224 (256 tokens) and 4 s of audio (100 tokens); the tiny model gets its own sizes.
REAL_MEDIA = ProcessorSettings(image_min_pixels=448 * 448, image_max_pixels=448 * 448, video_min_pixels=224 * 224,
                               video_max_pixels=224 * 224, max_frames=8, max_audio_seconds=4.0)


def thinker_config(size: str, tokenizer) -> Qwen2_5OmniThinkerConfig:
    vocab = VOCAB.get(size, len(tokenizer))
    return tiny_thinker_config(vocab, thinker_token_ids(tokenizer), DIMS[size])


def processor(size: str, camera: dict[str, Any] | None) -> InterpreterProcessor:
    """The tiny tokenizer with media sizes for `size`, laying out camera conditions for an encoder of
    `camera`'s sizes (a stage's `camera_encoder` node) when given."""
    settings = tiny_processor_settings(DIMS[size]) if size == "tiny" else REAL_MEDIA
    made = InterpreterProcessor(load_tokenizer(TINY_TOKENIZER_DIR), settings)
    return made if camera is None else made.with_camera(new_camera_support(dict(camera), DIMS[size].text_hidden))


def build(size: str, made: InterpreterProcessor, *, dtype: str, lora: dict[str, Any] | None,
          device: str | torch.device) -> nn.Module:
    """A randomly initialised thinker of `size` on `device` in `dtype`, wrapped as `load_backbone`
    wraps a checkpoint: LoRA on the language model when `lora` enables it, then the camera encoder
    when the processor lays out camera conditions (the interpreter model)."""
    config = thinker_config(size, made.tokenizer)
    with torch.device(device):
        model = Qwen2_5OmniThinkerForConditionalGeneration._from_config(config, dtype=DTYPES[dtype])
        encoder = CameraEncoder(made.camera.encoder).to(DTYPES[dtype]) if made.camera is not None else None
    if lora is not None:
        model = apply_lora(model, dict(lora), OMNI_LANGUAGE_MODEL)
    return model if encoder is None else InterpreterModel(model, encoder, made.camera_pad_id)


def count(parameters) -> int:
    return sum(p.numel() for p in parameters)


def parameter_counts(size: str, lora: dict[str, Any], camera: dict[str, Any]) -> dict[str, int]:
    """Exact parameter counts of the real-size model, built on the meta device (no memory):
    `thinker` (text, vision, audio, head), `camera_encoder` and `lora_adapters` (with `lora` enabled)."""
    made = processor(size, camera)
    model = build(size, made, dtype="bfloat16", lora={**lora, "enabled": True}, device="meta")
    adapters = count(p for name, p in model.named_parameters() if "lora_" in name)
    return {
        "thinker": count(model.thinker.parameters()) - adapters,
        "camera_encoder": count(model.camera_encoder.parameters()),
        "lora_adapters": adapters,
    }


def matmul_parameters(model: nn.Module) -> int:
    """Weights of the text decoder's linear layers and of the LM head (adapters included): the N of
    the 2N forward FLOPs per token. The embedding is a lookup, the towers see few tokens."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    modules = [*(decoder.modules() if decoder is not None else ()), model.get_output_embeddings()]
    return sum(m.weight.numel() for m in modules if isinstance(m, nn.Linear))
