"""One loading path for every backbone: the tiny default, Qwen2.5-Omni 3B/7B and text-only Qwen2.5.

`omni_thinker` loads only the thinker. transformers (5.24 and later; read in 5.25) does this directly from a full
Qwen2.5-Omni folder or hub id (config.json of model_type `qwen2_5_omni`, weights under `thinker.`):
`Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained` takes the `thinker_config` sub-config,
strips the `thinker.` prefix through its built-in checkpoint conversion mapping, and never
materialises the talker and token2wav tensors (they are reported as unexpected and skipped), so a
7B Omni folder costs the thinker's memory only. A thinker folder we saved loads the same way.

A folder that also holds a camera encoder (`camera_encoder.safetensors` / `.json`, written by
`save_checkpoint` for an `InterpreterModel`) loads as the interpreter wrapper, thinker + encoder;
`camera_encoder=` adds a freshly initialised encoder to a backbone that has none (stage=camera_pretrain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel, Qwen2_5OmniThinkerForConditionalGeneration
from transformers.utils import cached_file

from reade.models.camera_encoder import WEIGHTS_FILE as CAMERA_WEIGHTS_FILE
from reade.models.camera_encoder import CameraEncoder, CameraEncoderConfig
from reade.models.camera_input import CameraInputSettings
from reade.models.interpreter import InterpreterModel
from reade.models.lora import apply_lora, merged_state_dict
from reade.models.processing import CameraSupport, InterpreterProcessor
from reade.utils.io import staged_folder

KINDS = ("omni_thinker", "causal_lm")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
OMNI_LANGUAGE_MODEL = "model.language_model"
RUN_CONFIG_FILE = "reade_config.yaml"
OMNI_MODEL_TYPES = ("qwen2_5_omni", "qwen2_5_omni_thinker")
# Keys of a `camera_encoder` node that size the encoder's input rather than the encoder itself.
CAMERA_INPUT_KEYS = ("max_frames", "height", "width")


def load_backbone(
    name_or_path: str | Path,
    kind: str = "omni_thinker",
    dtype: str = "float32",
    lora: dict[str, Any] | None = None,
    attn_implementation: str | None = None,
    camera_encoder: dict[str, Any] | None = None,
) -> tuple[PreTrainedModel | InterpreterModel, InterpreterProcessor]:
    """(model, processor) for a hub id or folder.

    `lora` is the `backbone.lora` node (enabled, r, alpha, dropout, target_modules); None or
    `enabled: false` for full fine-tuning. LoRA wraps the thinker only; a camera encoder always
    trains in full.

    The model is an `InterpreterModel` when the folder holds a camera encoder, or when
    `camera_encoder` (the encoder's sizes less `out_hidden_size`, which is the backbone's width,
    plus `max_frames`/`height`/`width` of its input maps) asks for a new one; the folder's own
    encoder wins over `camera_encoder`.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {list(DTYPES)}")
    name_or_path = str(name_or_path)
    processor = load_processor(name_or_path, kind, camera_encoder)
    options = {"dtype": DTYPES[dtype]}
    if attn_implementation is not None:
        options["attn_implementation"] = attn_implementation
    if kind == "omni_thinker":
        model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(name_or_path, **options)
        _align_placeholders(model, processor, name_or_path)
    else:
        model = AutoModelForCausalLM.from_pretrained(name_or_path, **options)
    # Targets end with <|im_end|>; generation must stop there, pad with <|endoftext|> and never sample
    # another special token, whatever the checkpoint's generation_config says (a full Omni folder's
    # one is made for the talker).
    model.generation_config.eos_token_id = processor.eos_token_id
    model.generation_config.pad_token_id = processor.pad_token_id
    model.generation_config.suppress_tokens = processor.suppressed_ids
    encoder = None
    if processor.camera is not None:
        encoder = _camera_encoder(name_or_path, processor.camera.encoder).to(device=model.device, dtype=DTYPES[dtype])
    if lora is not None:
        model = apply_lora(model, dict(lora), OMNI_LANGUAGE_MODEL if kind == "omni_thinker" else None)
    if encoder is not None:
        model = InterpreterModel(model, encoder, processor.camera_pad_id)
    return model, processor


def load_processor(name_or_path: str | Path, kind: str = "omni_thinker",
                   camera_encoder: dict[str, Any] | None = None) -> InterpreterProcessor:
    """The processor `load_backbone` pairs with the weights, read without them: what a stage counts
    its rows' tokens with before any model loads (`reade.data.lengths`). With `camera_encoder`, a
    folder without an encoder gets the camera layout of a new one of those sizes."""
    if kind not in KINDS:
        raise ValueError(f"backbone kind {kind!r} is not one of {list(KINDS)}")
    name_or_path = str(name_or_path)
    if kind == "causal_lm":
        if camera_encoder is not None:
            raise ValueError(f"{name_or_path}: a camera encoder needs an omni_thinker backbone, not a text-only one")
        return InterpreterProcessor.from_pretrained(name_or_path, text_only=True)
    processor = InterpreterProcessor.from_pretrained(name_or_path)
    if processor.camera is not None or camera_encoder is None:
        return processor
    return processor.with_camera(new_camera_support(dict(camera_encoder), _thinker_width(name_or_path)))


def backbone_kind(name_or_path: str | Path) -> str:
    """omni_thinker for a Qwen2.5-Omni (thinker) folder or hub id, causal_lm for any other, from its config.json."""
    model_type = AutoConfig.from_pretrained(str(name_or_path)).model_type
    return "omni_thinker" if model_type in OMNI_MODEL_TYPES else "causal_lm"


def _thinker_width(name_or_path: str) -> int:
    """The thinker's hidden size from config.json (of a thinker folder, or of a full Omni one)."""
    config = AutoConfig.from_pretrained(name_or_path)
    return getattr(config, "thinker_config", config).get_text_config().hidden_size


def new_camera_support(sizes: dict[str, Any], width: int) -> CameraSupport:
    """The layout of a new camera encoder: `sizes` is a `camera_encoder` node, `width` the backbone's."""
    unknown = set(sizes) - set(CAMERA_INPUT_KEYS) - set(CameraEncoderConfig.__dataclass_fields__)
    if unknown or "out_hidden_size" in sizes:
        raise ValueError(f"camera_encoder: unknown keys {sorted(unknown | ({'out_hidden_size'} & set(sizes)))} "
                         "(out_hidden_size is the backbone's width)")
    inputs = CameraInputSettings(**{k: sizes.pop(k) for k in CAMERA_INPUT_KEYS if k in sizes})
    return CameraSupport(CameraEncoderConfig(**sizes, out_hidden_size=width), inputs)


def _camera_encoder(name_or_path: str, config: CameraEncoderConfig) -> CameraEncoder:
    """The folder's camera encoder, or a new one of `config` when the folder has none."""
    if CameraSupport.find(name_or_path) is None:
        return CameraEncoder(config)
    weights = cached_file(name_or_path, CAMERA_WEIGHTS_FILE, _raise_exceptions_for_missing_entries=False)
    if weights is None:
        raise FileNotFoundError(f"{name_or_path} has camera encoder settings but no {CAMERA_WEIGHTS_FILE}")
    encoder = CameraEncoder.from_pretrained(Path(weights).parent)
    if encoder.config != config:
        raise ValueError(f"{name_or_path}: camera_encoder.json and the processor's camera settings disagree")
    return encoder


def save_checkpoint(
    model: PreTrainedModel | InterpreterModel, processor: InterpreterProcessor, out_dir: str | Path, config: str | None = None
) -> Path:
    """An HF folder `load_backbone` reads back: LoRA merged into plain weights, processor alongside,
    the camera encoder (`camera_encoder.safetensors` / `.json`) when the model has one, and the run's
    resolved config (YAML text) as `reade_config.yaml` when given.

    Written to a sibling folder and swapped in by rename, so `out_dir` is either the old complete
    checkpoint or the new complete one, never a mix; the training model (adapters included) is unchanged.
    """
    out_dir = Path(out_dir)
    thinker = model.thinker if isinstance(model, InterpreterModel) else model
    with staged_folder(out_dir, replace=True) as staging:
        if isinstance(thinker, PeftModel):
            thinker.get_base_model().save_pretrained(staging, state_dict=merged_state_dict(thinker))
        else:
            thinker.save_pretrained(staging)
        if isinstance(model, InterpreterModel):
            model.camera_encoder.save_pretrained(staging)
        processor.save_pretrained(staging)
        if config is not None:
            (staging / RUN_CONFIG_FILE).write_text(config)
    return out_dir


def _align_placeholders(model: PreTrainedModel, processor: InterpreterProcessor, name_or_path: str) -> None:
    """The tokenizer's placeholder ids must be the ones the thinker splices features into.

    Configs that predate `vision_start_token_id`/`vision_end_token_id` (not constructor fields in
    transformers 5.25, yet read by the rope index) get them from the tokenizer.
    """
    config = model.config
    for name, expected in processor.placeholder_ids.items():
        actual = getattr(config, name, None)
        if actual is None and name in ("vision_start_token_id", "vision_end_token_id"):
            setattr(config, name, expected)
        elif actual != expected:
            raise ValueError(
                f"{name_or_path}: config {name}={actual} but the tokenizer gives {expected}; "
                "tokenizer and weights disagree"
            )
    vocab = model.get_input_embeddings().num_embeddings
    if len(processor.tokenizer) > vocab:
        raise ValueError(f"{name_or_path}: tokenizer has {len(processor.tokenizer)} tokens, embeddings only {vocab}")
