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


def lora_config(options: dict[str, Any], language_model_prefix: str | None) -> LoraConfig | None:
    """`options` is the whole `backbone.lora` node (its defaults live in reade.config.backbone); None when disabled.

    A list of module names is scoped to the language model when `language_model_prefix` is given:
    the Omni audio tower also has `q_proj`/`k_proj`/`v_proj`, and adapting the towers is not the
    intent of `target_modules: [q_proj, ...]`. A string is a peft regex and is used as is.
    """
    unknown, missing = set(options) - LORA_KEYS, LORA_KEYS - set(options)
    if unknown or missing:
        raise ValueError(f"LoRA options need exactly {sorted(LORA_KEYS)}; unknown {sorted(unknown)}, missing {sorted(missing)}")
    if not options["enabled"]:
        return None
    targets = options["target_modules"]
    if not isinstance(targets, str) and language_model_prefix is not None:
        names = "|".join(sorted(targets))
        targets = rf"{re.escape(language_model_prefix)}\..*\.({names})"
    elif not isinstance(targets, str):
        targets = list(targets)
    return LoraConfig(
        r=int(options["r"]),
        lora_alpha=int(options["alpha"]),
        lora_dropout=float(options["dropout"]),
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
def merged_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The base model's state dict under its own key names, with every active adapter folded in.

    `model` is a peft model or the model under it: peft puts its layers into that model in place, so
    both hold the adapters. A model without adapters gives its own state dict.
    """
    base = model.get_base_model() if isinstance(model, PeftModel) else model
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
