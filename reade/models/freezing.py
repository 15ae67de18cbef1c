"""Leaving parts of the interpreter as an earlier stage trained them (paper D: each stage updates
what it exists to train; a grounding stage's towers stay as they were while SFT trains the rest)."""

from __future__ import annotations

from torch import nn


def freeze(model: nn.Module, parts: list[str]) -> int:
    """Stop gradients into every parameter under one of `parts`; returns how many tensors were frozen.

    A part is a module path (`thinker.visual`, `camera_encoder`) or any run of its components
    (`visual`), so it also finds the module inside a peft wrapper. A part that names no parameter
    is refused: a typo would otherwise train what the recipe meant to keep.
    """
    names = [name for name, _ in model.named_parameters()]
    unmatched = [part for part in parts if not any(_under(name, part) for name in names)]
    if unmatched:
        modules = sorted({".".join(name.split(".")[:-1][:3]) for name in names})
        raise ValueError(f"{unmatched} name no parameter of the model; its modules include {', '.join(modules)}")
    frozen = 0
    for name, parameter in model.named_parameters():
        if any(_under(name, part) for part in parts):
            parameter.requires_grad_(False)
            frozen += 1
    return frozen


def _under(name: str, part: str) -> bool:
    return f".{part}." in f".{name}"
