"""Model FLOPs per step and the model FLOPs utilisation (MFU) they give against the card's bf16 peak.

FLOPs follow PaLM's MFU accounting (Chowdhery et al. 2022, appendix B): a forward pass over a
sequence of T tokens costs T·(2N + 4·L·h·T), N the weights every token multiplies (the text
decoder's linear layers and the LM head; the embedding is a lookup, and the media towers, which
see a few hundred tokens, are left out), L layers of width h for the attention scores. Training
costs 3 forwards with full fine-tuning (backward: gradients of inputs and of weights) and 2 with
LoRA (the frozen weights get no gradient; the adapters' share is negligible). Recomputation under
activation checkpointing is not counted: MFU counts the model's work, not the hardware's.
"""

from __future__ import annotations

# Dense (not 2:4 sparse) bf16 tensor-core peaks from NVIDIA's data sheets, in TFLOP/s, matched in
# this order against torch.cuda.get_device_name() (H100 PCIe and NVL before the SXM's plain "H100").
PEAK_BF16_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H200 NVL", 835.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("A100", 312.0),
)


def peak_tflops(card: str) -> float | None:
    """The card's dense bf16 peak, None for a card (or a CPU) the table does not know."""
    for name, peak in PEAK_BF16_TFLOPS:
        if name.lower() in card.lower():
            return peak
    return None


def forward_flops(tokens: int, matmul_params: int, layers: int, hidden: int) -> float:
    """One forward pass over one sequence of `tokens` tokens."""
    return tokens * (2.0 * matmul_params + 4.0 * layers * hidden * tokens)


def train_flops(tokens: int, matmul_params: int, layers: int, hidden: int, lora: bool) -> float:
    """Forward and backward over one sequence."""
    return (2 if lora else 3) * forward_flops(tokens, matmul_params, layers, hidden)


def mfu(flops: float, seconds: float, card: str) -> float | None:
    peak = peak_tflops(card)
    if peak is None or seconds <= 0:
        return None
    return flops / seconds / (peak * 1e12)
