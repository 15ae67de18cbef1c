"""Per-token log-probabilities and entropies of completions, without a full log-softmax copy.

The logits of a GRPO batch are [B, C, V] with V ~ 150k for Qwen: a `log_softmax` over all of it
would double the largest tensor of the step. Both functions here work through the logits a slice
of positions at a time (views, no copy of the input), as TRL's `selective_log_softmax` and
`entropy_from_logits` do, so the forward pass needs one extra [chunk_size, V] slice. Under
autograd, `token_logprobs` on float32 logits at τ = 1 keeps nothing of size V beyond the logits
(logsumexp saves its input, a view); a temperature or an upcast makes each slice's scaled copy a
saved tensor, as in TRL. `token_entropy` with gradient keeps its softmax: call it under
`torch.no_grad()` when it is only logged.

Temperature: like TRL, the policy the loss sees is the *sampling* distribution, softmax(logits / τ);
the ratio against the rollout's log-probs is only meaningful if both use the same τ.

Low-precision logits (bf16, fp16) are upcast to float32 slice by slice, and the results are
float32: a log-probability difference of two bf16 numbers is too coarse for an importance ratio
(TRL's fused LM head also works in float32).
"""

from __future__ import annotations

from typing import Callable

import torch
from einops import rearrange
from torch import Tensor, nn

DEFAULT_CHUNK_SIZE = 256


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")


def _per_position(logits: Tensor, chunk_size: int, fn: Callable[[Tensor, slice], Tensor]) -> Tensor:
    """[B, T] from `fn(chunk, positions)`, which maps the logits slice `logits[:, positions]` (a view,
    [B, t, V]) to its [B, t] values; about `chunk_size` positions (rows x time) in memory at a time.

    The slices are `split` views along time: under autograd their gradients are put back together by
    one concatenation, where indexing rows and times one slice at a time would give every slice a
    zero-filled gradient the size of all the logits."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    batch, length = logits.shape[:2]
    if batch == 0 or length == 0:
        dtype = logits.dtype if logits.dtype in (torch.float32, torch.float64) else torch.float32
        return logits.new_zeros((batch, length), dtype=dtype)
    step = max(1, chunk_size // batch)  # time steps per slice
    starts = range(0, length, step)
    chunks = logits.split(step, dim=1)
    return torch.cat([fn(chunk, slice(t0, t0 + chunk.shape[1])) for t0, chunk in zip(starts, chunks)], dim=1)  # [B, T]


def _scaled(chunk: Tensor, temperature: float) -> Tensor:
    """float32 (or float64) logits / τ of one slice; a copy only where it is needed."""
    if chunk.dtype not in (torch.float32, torch.float64):
        chunk = chunk.float()
    return chunk if temperature == 1.0 else chunk / temperature


def token_logprobs(
    logits: Tensor, token_ids: Tensor, temperature: float = 1.0, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Tensor:
    """log softmax(logits / τ)[token] for each position, [B, T, V] x [B, T] -> [B, T].

    Computed as logit[token] - logsumexp(logits), a chunk of positions at a time: the same value
    as `log_softmax(...).gather(...)` without materialising the [B, T, V] log-softmax.
    """
    _check_temperature(temperature)
    if logits.ndim != 3 or token_ids.shape != logits.shape[:2]:
        raise ValueError(
            f"expected logits [B, T, V] and token_ids [B, T], got {tuple(logits.shape)} and {tuple(token_ids.shape)}"
        )

    def chunk_logprobs(chunk: Tensor, positions: slice) -> Tensor:
        chunk = _scaled(chunk, temperature)  # [B, t, V]
        ids = rearrange(token_ids[:, positions], "b t -> b t 1")  # [B, t, 1]
        picked = rearrange(chunk.gather(-1, ids), "b t 1 -> b t")  # [B, t]
        return picked - torch.logsumexp(chunk, dim=-1)  # [B, t]

    return _per_position(logits, chunk_size, chunk_logprobs)


def token_entropy(logits: Tensor, temperature: float = 1.0, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Tensor:
    """Entropy (nats) of softmax(logits / τ) at each position, [B, T, V] -> [B, T].

    Logged as a health signal of the policy (entropy collapse precedes reward plateaus); it keeps
    its gradient so that an entropy bonus can be built on it.
    """
    _check_temperature(temperature)
    if logits.ndim != 3:
        raise ValueError(f"expected logits [B, T, V], got {tuple(logits.shape)}")

    def chunk_entropy(chunk: Tensor, positions: slice) -> Tensor:
        logp = torch.log_softmax(_scaled(chunk, temperature), dim=-1)  # [B, t, V]
        return -(logp.exp() * logp).sum(-1)  # [B, t]

    return _per_position(logits, chunk_size, chunk_entropy)


def completion_logits(
    model: nn.Module, input_ids: Tensor, attention_mask: Tensor, completion_length: int, **model_inputs
) -> Tensor:
    """Logits that predict the last `completion_length` tokens of `input_ids`, [B, C, V].

    input_ids and attention_mask are [B, P+C]: the (left-padded) prompt followed by the
    (right-padded) completion. One forward pass; the logits at position j predict token j+1, so
    the C completion tokens are predicted by positions P-1 .. P+C-2. `logits_to_keep=C+1` lets an
    HF causal LM project only those positions (and the unused last one) through the LM head. Some
    models accept the argument but ignore it: the Qwen2.5-Omni thinker of transformers 5.25 takes
    it into `**kwargs` and returns all P+C positions, so the slice is taken from the end, which is
    right in both cases. Media inputs (pixel_values, image_grid_thw, input_features, ...) go
    through `model_inputs`; the KV cache is off unless `use_cache` is passed, since a training
    forward never reuses it. Temperature is not applied here: `token_logprobs` and
    `token_entropy` take it.
    """
    if input_ids.ndim != 2 or attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"input_ids and attention_mask must both be [B, P+C], got {tuple(input_ids.shape)} "
            f"and {tuple(attention_mask.shape)}"
        )
    if not 1 <= completion_length < input_ids.shape[1]:
        raise ValueError(
            f"completion_length must be in [1, {input_ids.shape[1] - 1}] (at least one prompt token), "
            f"got {completion_length}"
        )
    model_inputs.setdefault("use_cache", False)
    output = model(
        input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=completion_length + 1, **model_inputs
    )
    logits = output.logits  # [B, C+1, V], or [B, P+C, V] when logits_to_keep is ignored
    if logits.shape[1] < completion_length + 1:
        raise ValueError(
            f"the model returned {logits.shape[1]} positions, "
            f"fewer than completion_length + 1 = {completion_length + 1}"
        )
    return logits[:, -(completion_length + 1) : -1]  # [B, C, V]
