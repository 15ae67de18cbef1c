"""The embedded default backbone: a randomly initialised Qwen2.5-Omni thinker small enough for a CPU.

It is written to disk with `save_pretrained` and then loaded with `from_pretrained` like a real
checkpoint, so the tiny default exercises exactly the loading, LoRA and saving path of the 7B.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import GenerationConfig, Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

from reade.models.processing import InterpreterProcessor
from reade.models.prompt import SYSTEM_PROMPT
from reade.models.settings import ProcessorSettings
from reade.utils.io import staged_folder
from reade.models.tokenizer import IM_END, PAD_TOKEN, TINY_TOKENIZER_DIR, load_tokenizer, placeholder_ids, token_id


@dataclass
class TinyDims:
    """Sizes of the tiny thinker and of the inputs its processor makes, and the system turn of its
    prompts (a Hydra structured config)."""

    text_hidden: int = 128
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 256
    max_position_embeddings: int = 32768
    vision_depth: int = 2
    vision_hidden: int = 32
    vision_heads: int = 2
    vision_intermediate: int = 64
    patch_size: int = 14
    spatial_merge_size: int = 2
    temporal_patch_size: int = 2
    audio_layers: int = 2
    audio_d_model: int = 32
    audio_heads: int = 2
    audio_ffn: int = 64
    image_side: int = 56
    video_side: int = 56
    max_frames: int = 8
    max_audio_seconds: float = 4.0
    system_prompt: str = SYSTEM_PROMPT


def mrope_section(head_dim: int) -> list[int]:
    """Qwen's 16/24/24 split of the rotary half (time/height/width), scaled to any head size.

    The thinker requires the three parts to sum to head_dim / 2.
    """
    half = head_dim // 2
    time = half // 4
    height = (half - time) // 2
    return [time, height, half - time - height]


def tiny_thinker_config(vocab_size: int, token_ids: dict[str, int], dims: TinyDims) -> Qwen2_5OmniThinkerConfig:
    """`token_ids`: the thinker's placeholder fields plus `user_token_id`, `pad_token_id` and `eos_token_id`."""
    if dims.text_hidden % dims.text_heads or (dims.text_hidden // dims.text_heads) % 2:
        raise ValueError(f"text_hidden {dims.text_hidden} must split into {dims.text_heads} heads of even size")
    outside = {name: i for name, i in token_ids.items() if not 0 <= i < vocab_size}
    if outside:
        raise ValueError(f"token ids {outside} lie outside the vocabulary of {vocab_size}")
    placeholders = {k: v for k, v in token_ids.items() if k not in ("pad_token_id", "eos_token_id")}
    vision_bounds = {k: placeholders.pop(k) for k in ("vision_start_token_id", "vision_end_token_id")}
    config = Qwen2_5OmniThinkerConfig(
        text_config=dict(
            vocab_size=vocab_size,
            hidden_size=dims.text_hidden,
            intermediate_size=dims.text_intermediate,
            num_hidden_layers=dims.text_layers,
            num_attention_heads=dims.text_heads,
            num_key_value_heads=dims.text_kv_heads,
            max_position_embeddings=dims.max_position_embeddings,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 1_000_000.0,
                "mrope_section": mrope_section(dims.text_hidden // dims.text_heads),
            },
            pad_token_id=token_ids["pad_token_id"],
            eos_token_id=token_ids["eos_token_id"],
        ),
        vision_config=dict(
            depth=dims.vision_depth,
            hidden_size=dims.vision_hidden,
            intermediate_size=dims.vision_intermediate,
            num_heads=dims.vision_heads,
            patch_size=dims.patch_size,
            spatial_merge_size=dims.spatial_merge_size,
            temporal_patch_size=dims.temporal_patch_size,
            out_hidden_size=dims.text_hidden,
            fullatt_block_indexes=[dims.vision_depth - 1],
        ),
        audio_config=dict(
            encoder_layers=dims.audio_layers,
            d_model=dims.audio_d_model,
            encoder_attention_heads=dims.audio_heads,
            encoder_ffn_dim=dims.audio_ffn,
            output_dim=dims.text_hidden,
        ),
        **placeholders,
    )
    # transformers 5.25: the thinker reads these two in get_rope_index, but they are not constructor
    # fields of Qwen2_5OmniThinkerConfig; as attributes they are saved to and reloaded from config.json.
    for name, value in vision_bounds.items():
        setattr(config, name, value)
    return config


def thinker_token_ids(tokenizer) -> dict[str, int]:
    """The `token_ids` of `tiny_thinker_config` that `tokenizer` gives: its placeholders, `user`, padding and end of turn."""
    return placeholder_ids(tokenizer) | {
        "user_token_id": token_id(tokenizer, "user"),
        "pad_token_id": token_id(tokenizer, PAD_TOKEN),
        "eos_token_id": token_id(tokenizer, IM_END),
    }


def tiny_processor_settings(dims: TinyDims) -> ProcessorSettings:
    """Square pixel budgets (`side`²) keep a tiny image at 4 and a frame pair at 4 placeholder tokens."""
    return ProcessorSettings(
        patch_size=dims.patch_size,
        temporal_patch_size=dims.temporal_patch_size,
        merge_size=dims.spatial_merge_size,
        image_min_pixels=dims.image_side**2,
        image_max_pixels=dims.image_side**2,
        video_min_pixels=dims.video_side**2,
        video_max_pixels=dims.video_side**2,
        max_frames=dims.max_frames,
        max_audio_seconds=dims.max_audio_seconds,
        system_prompt=dims.system_prompt,
    )


def tiny_key(dims: TinyDims, seed: int, tokenizer_dir: Path = TINY_TOKENIZER_DIR) -> str:
    """Short hash of everything the folder's content depends on."""
    digest = hashlib.sha256(json.dumps({"dims": asdict(dims), "seed": seed}, sort_keys=True).encode())
    for file in sorted(tokenizer_dir.iterdir()):
        digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()[:12]


def materialize_tiny(cache_dir: str | Path, dims: TinyDims | None = None, seed: int = 0) -> Path:
    """Build (once) and return `cache_dir/tiny-<hash>`: weights, config, tokenizer and processor settings.

    Built in a sibling folder and renamed into place, so an existing folder is always complete.
    """
    dims = dims if dims is not None else TinyDims()
    cache_dir = Path(cache_dir)
    folder = cache_dir / f"tiny-{tiny_key(dims, seed)}"
    if folder.is_dir():
        return folder
    with staged_folder(folder, replace=False) as staging:
        tokenizer = load_tokenizer(TINY_TOKENIZER_DIR)
        token_ids = thinker_token_ids(tokenizer)
        config = tiny_thinker_config(len(tokenizer), token_ids, dims)
        # A private RNG stream: building the tiny model must not shift the caller's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = Qwen2_5OmniThinkerForConditionalGeneration(config)
        model.generation_config = GenerationConfig(
            eos_token_id=token_ids["eos_token_id"], pad_token_id=token_ids["pad_token_id"]
        )
        model.save_pretrained(staging)
        InterpreterProcessor(tokenizer, tiny_processor_settings(dims)).save_pretrained(staging)
    return folder
