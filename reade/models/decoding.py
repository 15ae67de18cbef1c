"""The KV-cache decode loop for Qwen2-family decoders (Qwen2.5, the Qwen2.5-Omni thinker): the hf rollout
engine's sampling (reade.rl.rollout.hf) and every greedy decode (evaluation, the stages' test loops, inference).

Why not `generate`: on the tiny default most of a `generate` step is not arithmetic. On this CPU,
for 16 rows of 1.5k logits, `torch.multinomial` takes 0.37 ms (it draws an exponential variate per
vocabulary entry), about a fifth of the step; the DynamicCache concatenates every layer's keys and
values at every token; masks, position ids and model kwargs are rebuilt each step. Here

- the prompt goes through the model's own forward (media towers, camera embeddings spliced by an
  `InterpreterModel`, multimodal RoPE), which fills a cache that is copied once into buffers sized
  for the whole completion;
- every following token is one pass through the same modules (`q_proj`, `mlp`, norms: a LoRA layer
  applies itself) with its keys and values written in place and attention over the filled prefix;
- a token is drawn by inverse CDF, one uniform per row (`sample_tokens`).

Under FSDP (`trainer=fsdp`) a decoder layer's weights are shards between its own forward calls, and
the steps call its modules directly: `TextDecoder.full_weights` gathers every FSDP unit of the
decoder once, after the prefill, for the whole completion. That is one all-gather per unit on every
rank before any rank's completions end, so ranks may stop decoding at different lengths. Under FSDP
mixed precision the gathered weights are full precision; the steps then run under autocast in the
prefill's compute dtype, as FSDP's forward runs the prefill.

RoPE: a completion token is text, whose multimodal position is the same on all three axes, so
1-D RoPE at that position is the thinker's rotation; positions continue the prefill's
(`TextDecoder.first_completion_position`), so the logits are those of one forward pass over prompt
and completion, the pass that gives the policy's training log-probs.
Tests hold each step's logits to a full forward pass's and greedy tokens to `generate`'s.
"""

from __future__ import annotations

from contextlib import ExitStack, nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from peft import PeftModel
from torch import Tensor, nn
from torch.distributed.fsdp import FullyShardedDataParallel
from transformers import DynamicCache, TopKLogitsWarper, TopPLogitsWarper

from reade.models.interpreter import InterpreterModel

QWEN2_DECODERS = {"qwen2": None, "qwen2_5_omni_thinker": "language_model"}
UNSUPPORTED = (
    "the decode loop runs Qwen2-family language models with plain RoPE and full attention (Qwen2.5, the "
    "Qwen2.5-Omni thinker); this model is a {model_type!r} one"
)


def unwrap(model: nn.Module) -> nn.Module:
    """The transformers model under a peft and/or interpreter wrapper (modules are shared, not copied)."""
    while isinstance(model, (PeftModel, InterpreterModel)):
        model = model.get_base_model() if isinstance(model, PeftModel) else model.thinker
    return model


@dataclass
class TextDecoder:
    """The parts of a Qwen2 decoder that one decode step runs through."""

    model: nn.Module  # the transformers model (thinker or causal LM): its rope_deltas, its head
    text: nn.Module  # its decoder: embed_tokens, layers, norm, rotary_emb
    heads: int
    kv_heads: int
    head_dim: int

    @classmethod
    def of(cls, model: nn.Module) -> TextDecoder | None:
        """The decoder of `model`, or None when it is not a Qwen2-family decoder with plain RoPE and
        full attention (the engine then samples with `generate`)."""
        base = unwrap(model)
        model_type = getattr(getattr(base, "config", None), "model_type", None)
        if model_type not in QWEN2_DECODERS:
            return None
        inner = base.model
        text = getattr(inner, QWEN2_DECODERS[model_type]) if QWEN2_DECODERS[model_type] else inner
        config = text.config
        if config.rope_parameters.get("rope_type", "default") != "default":
            return None
        if any(getattr(layer.self_attn, "sliding_window", None) for layer in text.layers):
            return None
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return cls(base, text, config.num_attention_heads, config.num_key_value_heads, head_dim)

    def full_weights(self, compute_dtype: torch.dtype) -> ExitStack:
        """A context in which the steps may call the decoder's modules: each FSDP unit inside the
        decoder gathered (read-only), and autocast to `compute_dtype` (the prefill's) when the
        weights are of another dtype. Without FSDP, on weights of the prefill's dtype, it does nothing."""
        with ExitStack() as stack:
            for unit in FullyShardedDataParallel.fsdp_modules(self.text):
                stack.enter_context(FullyShardedDataParallel.summon_full_params(unit, recurse=False, writeback=False))
            weight = self.text.layers[0].input_layernorm.weight
            stack.enter_context(nullcontext() if weight.dtype == compute_dtype else torch.autocast(weight.device.type, compute_dtype))
            return stack.pop_all()  # the caller's `with` leaves them; a failure above left them already

    def rope(self, positions: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """cos, sin [N, 1, 1, head_dim] of 1-D RoPE at `positions` ([N]), as the model's rotary module."""
        rotary = self.text.rotary_emb
        freqs = positions[:, None].float() * rotary.inv_freq.float()[None, :]  # [N, head_dim / 2]
        angles = rearrange(torch.cat([freqs, freqs], dim=-1), "n d -> n 1 1 d")  # [N, 1, 1, head_dim]
        return (angles.cos() * rotary.attention_scaling).to(dtype), (angles.sin() * rotary.attention_scaling).to(dtype)

    def first_completion_position(self, attention_mask: Tensor) -> Tensor:
        """[N] position of the first completion token, continuing the prefill's positions: a thinker
        numbers valid tokens and shifts them by its multimodal `rope_deltas` (set by the prefill); a
        Qwen2 causal LM called without position ids numbers cache columns, padding included."""
        deltas = getattr(self.model.model, "rope_deltas", None)
        rows, length = attention_mask.shape
        if deltas is None:
            return torch.full((rows,), length, dtype=torch.long, device=attention_mask.device)
        deltas = deltas.reshape(-1).to(attention_mask.device)  # [N] or [1]
        return attention_mask.long().sum(-1) + deltas.repeat_interleave(rows // deltas.shape[0])

    def step(self, token: Tensor, position: Tensor, keys: list[Tensor], values: list[Tensor], filled: int,
             key_mask: Tensor) -> Tensor:
        """Logits [N, V] after `token` ([N]) at `position` ([N]); its keys and values go to column
        `filled` of each layer's buffers ([N, kv_heads, L, head_dim]), attention reads columns ..filled."""
        x = self.text.embed_tokens(token[:, None])  # [N, 1, D]
        cos, sin = self.rope(position, x.dtype)
        visible = key_mask[:, None, None, : filled + 1]  # [N, 1, 1, filled + 1]
        for layer, layer_keys, layer_values in zip(self.text.layers, keys, values):
            attention = layer.self_attn
            h = layer.input_layernorm(x)
            q = rearrange(attention.q_proj(h), "n 1 (h d) -> n h 1 d", d=self.head_dim)
            k = rearrange(attention.k_proj(h), "n 1 (h d) -> n h 1 d", d=self.head_dim)
            v = rearrange(attention.v_proj(h), "n 1 (h d) -> n h 1 d", d=self.head_dim)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            layer_keys[:, :, filled : filled + 1] = k
            layer_values[:, :, filled : filled + 1] = v
            out = F.scaled_dot_product_attention(
                q, layer_keys[:, :, : filled + 1], layer_values[:, :, : filled + 1], attn_mask=visible,
                scale=attention.scaling, enable_gqa=self.heads != self.kv_heads,
            )  # [N, heads, 1, head_dim]
            x = x + attention.o_proj(rearrange(out, "n h 1 d -> n 1 (h d)"))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.model.lm_head(self.text.norm(x))[:, 0].float()  # [N, V]


def text_decoder(model: nn.Module) -> TextDecoder:
    """The model's decoder, or a ValueError that names the model type the loop cannot run."""
    decoder = TextDecoder.of(model)
    if decoder is None:
        raise ValueError(UNSUPPORTED.format(model_type=getattr(getattr(unwrap(model), "config", None), "model_type", None)))
    return decoder


def rotate_half(x: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def sample_tokens(probs: Tensor) -> Tensor:
    """One draw per row of `probs` ([N, V], rows need not sum to 1), by inverse CDF: [N].

    A token with probability 0 owns an empty interval of the CDF and is never drawn (u > 0)."""
    cdf = probs.cumsum(-1)  # [N, V]
    u = (1.0 - torch.rand(probs.shape[0], 1, device=probs.device, dtype=cdf.dtype)) * cdf[:, -1:]  # (0, total]
    return torch.searchsorted(cdf, u).clamp_(max=probs.shape[-1] - 1).squeeze(-1)


@dataclass
class Sampler:
    """Turns step logits into tokens: suppressed ids, temperature, then top-k / top-p, as `generate`."""

    suppressed_ids: list[int]
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    greedy: bool = False

    def __post_init__(self):
        self._suppressed: Tensor | None = None
        self._filters = ([TopKLogitsWarper(self.top_k)] if self.top_k else []) + (
            [TopPLogitsWarper(self.top_p)] if self.top_p < 1.0 else [])

    def __call__(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        """(tokens [N], scores [N, V]): the scores are the tempered logits with the suppressed ids at
        -inf, before top-k / top-p; their log-softmax is the sampling log-prob the policy's matches."""
        if self._suppressed is None or self._suppressed.device != logits.device:
            self._suppressed = torch.tensor(self.suppressed_ids, dtype=torch.long, device=logits.device)
        scores = logits if self.greedy or self.temperature == 1.0 else logits / self.temperature
        scores = scores.index_fill(-1, self._suppressed, float("-inf"))  # [N, V]
        if self.greedy:
            return scores.argmax(-1), scores
        filtered = scores
        for keep in self._filters:
            filtered = keep(None, filtered)
        return sample_tokens(torch.softmax(filtered, dim=-1)), scores


@torch.no_grad()
def decode(model: nn.Module, decoder: TextDecoder, prompts: dict[str, Tensor], sampler: Sampler, *,
           max_new_tokens: int, eos_token_id: int, pad_token_id: int, logprobs: bool = False
           ) -> tuple[Tensor, Tensor | None]:
    """(completion ids [N, C], their log-probs [N, C] or None), C <= max_new_tokens; a row is padded
    after its end-of-turn token and decoding stops when every row has one."""
    mask = prompts["attention_mask"]  # [N, P]
    rows, prompt_length = mask.shape
    cache = DynamicCache(config=decoder.text.config)
    output = model(**prompts, cache=cache, use_cache=True, logits_to_keep=1)
    logits = output.logits[:, -1].float()  # [N, V]
    total = prompt_length + max_new_tokens
    keys, values = [], []
    for layer in cache.layers:
        for buffers, filled in ((keys, layer.keys), (values, layer.values)):
            buffer = filled.new_empty(rows, decoder.kv_heads, total, decoder.head_dim)  # [N, kv_heads, P + C, d]
            buffer[:, :, :prompt_length] = filled
            buffers.append(buffer)
    del cache, output
    key_mask = torch.ones(rows, total, dtype=torch.bool, device=mask.device)  # [N, P + C]
    key_mask[:, :prompt_length] = mask.bool()
    start = decoder.first_completion_position(mask)  # [N]
    done = torch.zeros(rows, dtype=torch.bool, device=mask.device)
    tokens, token_logps = [], []
    with decoder.full_weights(keys[0].dtype):
        for t in range(max_new_tokens):
            token, scores = sampler(logits)
            token = token.masked_fill(done, pad_token_id)
            tokens.append(token)
            if logprobs:
                picked = torch.log_softmax(scores, dim=-1).gather(-1, token[:, None]).squeeze(-1)  # [N]
                token_logps.append(picked.masked_fill(done, 0.0))
            done = done | (token == eos_token_id)
            if t + 1 == max_new_tokens or bool(done.all()):
                break
            logits = decoder.step(token, start + t, keys, values, prompt_length + t, key_mask)
    ids = torch.stack(tokens, dim=1)  # [N, C]
    return ids, torch.stack(token_logps, dim=1) if logprobs else None


def greedy_completions(model: nn.Module, processor, prompts: dict[str, Tensor], max_new_tokens: int) -> list[str]:
    """The held-out evaluations' outputs: greedy, special tokens never chosen, decoded to text."""
    ids, _ = decode(model, text_decoder(model), prompts, Sampler(processor.suppressed_ids, greedy=True),
                    max_new_tokens=max_new_tokens, eos_token_id=processor.eos_token_id,
                    pad_token_id=processor.pad_token_id)  # [B, new]
    return processor.decode(ids)
