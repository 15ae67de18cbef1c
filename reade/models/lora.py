"""LoRA as a config switch, and merging it into plain weights for a checkpoint any loader reads.

Merging builds a new state dict instead of calling `merge_and_unload`, which would strip the adapters
from the model that is still training when a mid-run checkpoint is written, and instead of a deep
copy, which would double the memory of a 7B backbone.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from transformers import PreTrainedModel

LORA_KEYS = {"enabled", "r", "alpha", "dropout", "target_modules"}
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


def lora_config(options: dict[str, Any], language_model_prefix: str | None) -> LoraConfig | None:
    """`options` is the `backbone.lora` node; None when it is disabled.

    A list of module names is scoped to the language model when `language_model_prefix` is given:
    the Omni audio tower also has `q_proj`/`k_proj`/`v_proj`, and adapting the towers is not the
    intent of `target_modules: [q_proj, ...]`. A string is a peft regex and is used as is.
    """
    unknown = set(options) - LORA_KEYS
    if unknown:
        raise ValueError(f"unknown LoRA options {sorted(unknown)}; expected {sorted(LORA_KEYS)}")
    if not options.get("enabled", True):
        return None
    targets = options.get("target_modules", DEFAULT_TARGETS)
    if not isinstance(targets, str) and language_model_prefix is not None:
        names = "|".join(sorted(targets))
        targets = rf"{re.escape(language_model_prefix)}\..*\.({names})"
    elif not isinstance(targets, str):
        targets = list(targets)
    return LoraConfig(
        r=int(options.get("r", 16)),
        lora_alpha=int(options.get("alpha", 32)),
        lora_dropout=float(options.get("dropout", 0.0)),
        target_modules=targets,
        bias="none",
    )


def apply_lora(model: PreTrainedModel, options: dict[str, Any], language_model_prefix: str | None) -> PreTrainedModel:
    """Wrap with peft (base weights frozen, adapters trainable); unchanged when LoRA is disabled."""
    config = lora_config(options, language_model_prefix)
    if config is None:
        return model
    return get_peft_model(model, config)


@torch.no_grad()
def merged_state_dict(model: PeftModel) -> dict[str, torch.Tensor]:
    """The base model's state dict under its own key names, with every active adapter folded in."""
    base = model.get_base_model()
    state = {}
    for key, value in base.state_dict().items():
        parts = key.split(".")
        if any(part.startswith("lora_") for part in parts):
            continue
        state[".".join(part for part in parts if part != "base_layer")] = value
    for name, layer in base.named_modules():
        if not isinstance(layer, LoraLayer):
            continue
        weight = layer.get_base_layer().weight
        merged = weight.detach().clone()
        for adapter in layer.active_adapters:
            if adapter in layer.lora_A:
                merged += layer.get_delta_weight(adapter).to(weight.dtype)
        state[f"{name}.weight"] = merged
    return state
