"""The dry plan's arithmetic: the GPU memory of one training recipe, term by term, in bytes.

Nothing here builds a model or touches a GPU, so every term can be checked by hand
(tests/unit/test_gpu_readiness.py checks a small case). The estimate is the peak of one step:

    total = weights + gradients + optimizer + reference + max(activations, generation) + vllm

- weights: every parameter at its dtype's size (bf16 2 bytes, fp32 4).
- gradients: each trained parameter at its own dtype (torch keeps `.grad` in the parameter's dtype).
- optimizer: AdamW's m and v for each trained parameter, in the parameter's dtype (`torch.optim.AdamW`
  makes both with `zeros_like(param)`): 2 x 2 bytes on bf16 weights, 2 x 4 on fp32 ones. No recipe
  here keeps a separate fp32 master copy: `backbone.dtype=float32` makes the weights themselves the
  fp32 masters (bf16-mixed autocasts the compute), 4 + 4 + 8 = 16 bytes per trained parameter, the
  same as bf16 weights with an fp32 master and fp32 m and v (DeepSpeed's layout).
- reference: GRPO's frozen copy of the starting policy for its KL (full fine-tune); with LoRA the
  reference is the policy with its adapters switched off, so nothing.
- activations, per token and decoder layer, with flash/SDPA attention (no T x T scores kept),
  bf16 activations and no dropout, for a Qwen2 layer (RMSNorm, GQA attention with RoPE, SwiGLU MLP):

      A = 22 h + 6 k + 8 i   bytes     (h hidden, k = kv heads x head size, i MLP width)

  The attention half keeps its norm's input h (2 bytes) and the norm's fp32 copy (4), the q/k/v
  input h, q and k before RoPE (h + k) and after (h + k), v (k) and the attention output h, all
  bf16: 2(5h + 3k) + 4h = 14h + 6k. The MLP half keeps its norm's input and fp32 copy, the gate/up
  input h, and gate, up, act(gate), act(gate)·up (4i): 2(2h + 4i) + 4h = 8h + 8i.
  Without checkpointing all L layers keep A per token: L·A. With per-layer activation checkpointing
  (trainer=fsdp's policy) each layer keeps only its input, 2h, and one layer at a time is recomputed:
  L·2h + A. On top: the logits the loss keeps, per row (`sft_logits_bytes`, `grpo_logits_bytes`).
  fp32 weights under bf16-mixed keep the residual stream in fp32: this undercounts them by about 4h
  per token and layer.
- generation (GRPO): the KV cache of all sampled completions (k and v, L layers, k wide, bf16) and
  the prefill's bf16 logits over every prompt position. It does not coexist with the activations.
- vllm: what a colocated vLLM engine claims, `gpu_memory_utilization` of the card (its own copy of
  the weights and its KV cache inside).
"""

from __future__ import annotations

from dataclasses import dataclass

BF16, FP32 = 2, 4
GIB = 2**30
# Above this share of the card's memory an estimate is "tight": CUDA context, library workspaces and
# allocator fragmentation take the rest.
SAFE_SHARE = 0.9


@dataclass(frozen=True)
class Decoder:
    """The text decoder sizes that set activation and KV-cache memory."""

    layers: int
    hidden: int
    kv: int  # key/value heads x head size
    intermediate: int
    vocab: int


@dataclass(frozen=True)
class Load:
    """What one optimizer step holds: parameters by group, and one micro-batch of `rows` x `tokens`.

    `trained` lists (parameters, bytes per parameter) of each trained group; `frozen` the same for
    the rest."""

    frozen: tuple[tuple[int, int], ...]
    trained: tuple[tuple[int, int], ...]
    rows: int
    tokens: int
    checkpointing: bool
    logits_per_row: int
    reference: bool = False
    generation: int = 0
    vllm: int = 0


def layer_bytes(d: Decoder) -> int:
    """A: what one decoder layer keeps per token for its backward."""
    return 22 * d.hidden + 6 * d.kv + 8 * d.intermediate


def token_bytes(d: Decoder, checkpointing: bool) -> int:
    """What all layers keep per token: L·A, or L·2h + A under per-layer checkpointing."""
    if checkpointing:
        return d.layers * BF16 * d.hidden + layer_bytes(d)
    return d.layers * layer_bytes(d)


def sft_logits_bytes(tokens: int, vocab: int) -> int:
    """The bf16 logits over every position, the loss's fp32 copy and its fp32 log-softmax: 10 bytes an entry."""
    return tokens * vocab * (BF16 + FP32 + FP32)


def grpo_logits_bytes(prompt: int, completion: int, vocab: int) -> int:
    """The bf16 logits over every position (the thinker ignores `logits_to_keep`), then, over the
    completion, the copy with never-sampled tokens filled (bf16) and the fp32 slices the log-probs keep."""
    return (prompt + completion) * vocab * BF16 + completion * vocab * (BF16 + FP32)


def generation_bytes(d: Decoder, completions: int, prompt: int, completion: int) -> int:
    """KV cache of `completions` sequences of prompt + completion tokens, plus the prefill's bf16 logits."""
    kv_cache = completions * (prompt + completion) * d.layers * 2 * d.kv * BF16
    return kv_cache + completions * prompt * d.vocab * BF16


def estimate(d: Decoder, load: Load) -> dict[str, int]:
    """Bytes of each term, and their `total`."""
    weights = sum(n * size for n, size in (*load.frozen, *load.trained))
    gradients = sum(n * size for n, size in load.trained)
    terms = {
        "weights": weights,
        "gradients": gradients,
        "optimizer": 2 * gradients,
        "reference": weights if load.reference else 0,
        "activations": load.rows * (load.tokens * token_bytes(d, load.checkpointing) + load.logits_per_row),
        "generation": load.generation,
        "vllm": load.vllm,
    }
    peak_transient = max(terms["activations"], terms["generation"])
    terms["total"] = terms["weights"] + gradients + terms["optimizer"] + terms["reference"] + peak_transient + load.vllm
    return terms


def verdict(total: int, capacity: int) -> str:
    """fits (within SAFE_SHARE of the card), tight (within the card), or no."""
    if total <= SAFE_SHARE * capacity:
        return "fits"
    return "tight" if total <= capacity else "no"
