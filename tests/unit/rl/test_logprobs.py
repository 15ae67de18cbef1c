"""reade.rl.logprobs against the naive full-tensor computations (and TRL's helpers) on small tensors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2_5OmniThinkerForConditionalGeneration
from trl.trainer.utils import entropy_from_logits, selective_log_softmax

from reade.models.tiny import TinyDims, tiny_thinker_config
from reade.models.tokenizer import IM_END, PAD_TOKEN, load_tokenizer, placeholder_ids, token_id
from reade.rl.logprobs import completion_logits, token_entropy, token_logprobs


def naive_logprobs(logits, ids, temperature=1.0):
    return torch.log_softmax(logits / temperature, dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)


def naive_entropy(logits, temperature=1.0):
    logp = torch.log_softmax(logits / temperature, dim=-1)
    return -(logp.exp() * logp).sum(-1)


@pytest.fixture
def logits_and_ids():
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(3, 7, 50, generator=g, dtype=torch.float64)  # [B, T, V]
    ids = torch.randint(0, 50, (3, 7), generator=g)  # [B, T]
    return logits, ids


@pytest.mark.parametrize("temperature", [1.0, 0.7, 1.5])
@pytest.mark.parametrize("chunk_size", [1, 3, 256])
def test_token_logprobs_is_log_softmax_gather(logits_and_ids, temperature, chunk_size):
    logits, ids = logits_and_ids
    got = token_logprobs(logits, ids, temperature, chunk_size=chunk_size)
    assert got.shape == (3, 7) and got.dtype == torch.float64
    torch.testing.assert_close(got, naive_logprobs(logits, ids, temperature), rtol=0, atol=1e-12)
    torch.testing.assert_close(got.float(), selective_log_softmax(logits.float(), ids, temperature), atol=1e-5, rtol=0)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_token_logprobs_gradient(logits_and_ids, temperature):
    logits, ids = logits_and_ids
    logits = logits.clone().requires_grad_()
    weights = torch.randn(3, 7, dtype=torch.float64)
    (ours,) = torch.autograd.grad((token_logprobs(logits, ids, temperature, chunk_size=2) * weights).sum(), logits)
    (naive,) = torch.autograd.grad((naive_logprobs(logits, ids, temperature) * weights).sum(), logits)
    torch.testing.assert_close(ours, naive, rtol=0, atol=1e-12)


def test_token_logprobs_on_a_non_contiguous_view(logits_and_ids):
    """The non-contiguous view completion_logits returns works the same as a contiguous tensor."""
    logits, ids = logits_and_ids
    view = logits[:, 2:6]
    assert not view.is_contiguous()
    torch.testing.assert_close(token_logprobs(view, ids[:, 2:6]), naive_logprobs(view, ids[:, 2:6]))


def test_bf16_logits_give_float32(logits_and_ids):
    logits, ids = logits_and_ids
    low = logits.to(torch.bfloat16)
    got = token_logprobs(low, ids)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, naive_logprobs(low.float(), ids), rtol=0, atol=1e-5)
    assert token_entropy(low).dtype == torch.float32


@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("chunk_size", [1, 4, 256])
def test_token_entropy(logits_and_ids, temperature, chunk_size):
    logits, _ = logits_and_ids
    got = token_entropy(logits, temperature, chunk_size=chunk_size)
    assert got.shape == (3, 7)
    torch.testing.assert_close(got, naive_entropy(logits, temperature), rtol=0, atol=1e-12)
    torch.testing.assert_close(got, entropy_from_logits(logits / temperature), rtol=0, atol=1e-12)


def test_entropy_bounds():
    uniform = torch.zeros(1, 2, 16)
    torch.testing.assert_close(token_entropy(uniform), torch.full((1, 2), torch.log(torch.tensor(16.0)).item()))
    peaked = torch.tensor([[[100.0, 0.0, 0.0]]])
    assert token_entropy(peaked).item() == pytest.approx(0.0, abs=1e-6)
    # a higher temperature flattens the distribution
    logits = torch.randn(2, 3, 10)
    assert (token_entropy(logits, 2.0) > token_entropy(logits, 0.5)).all()


def test_empty_and_bad_inputs():
    assert token_logprobs(torch.zeros(2, 0, 5), torch.zeros(2, 0, dtype=torch.long)).shape == (2, 0)
    assert token_entropy(torch.zeros(0, 3, 5)).shape == (0, 3)
    with pytest.raises(ValueError, match="temperature"):
        token_logprobs(torch.zeros(1, 2, 3), torch.zeros(1, 2, dtype=torch.long), temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        token_entropy(torch.zeros(1, 2, 3), temperature=-1.0)
    with pytest.raises(ValueError, match=r"\[B, T\]"):
        token_logprobs(torch.zeros(1, 2, 3), torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="chunk_size"):
        token_entropy(torch.zeros(1, 2, 3), chunk_size=0)


# --- completion_logits ------------------------------------------------------------------------------


def left_padded_batch(vocab: int, pad: int, prompt_len: int = 5, completion_len: int = 4):
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(20, vocab, (3, prompt_len + completion_len), generator=g)  # [B, P+C]
    mask = torch.ones_like(ids)
    mask[0, :2] = 0  # left padding in the prompt
    mask[1, -1:] = 0  # right padding after the completion
    ids[mask == 0] = pad
    return ids, mask


def test_completion_logits_match_a_full_forward():
    tokenizer = load_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).eval()
    ids, mask = left_padded_batch(len(tokenizer), tokenizer.pad_token_id)
    P, C = 5, 4
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=mask).logits  # [B, P+C, V]
        got = completion_logits(model, ids, mask, C)
    assert got.shape == (3, C, len(tokenizer))
    torch.testing.assert_close(got, full[:, P - 1 : P + C - 1], rtol=0, atol=1e-5)
    # and the log-probs of the completion tokens are those of a naive shift-by-one
    naive = naive_logprobs(full[:, :-1], ids[:, 1:])[:, -C:]
    torch.testing.assert_close(token_logprobs(got, ids[:, -C:]), naive, rtol=0, atol=1e-5)


def test_completion_logits_on_the_omni_thinker_which_ignores_logits_to_keep():
    """transformers 5.25's Qwen2.5-Omni thinker accepts `logits_to_keep` but returns every position."""
    tokenizer = load_tokenizer()
    token_ids = placeholder_ids(tokenizer) | {
        "user_token_id": token_id(tokenizer, "user"),
        "pad_token_id": token_id(tokenizer, PAD_TOKEN),
        "eos_token_id": token_id(tokenizer, IM_END),
    }
    dims = TinyDims(text_hidden=32, text_heads=2, text_kv_heads=1, text_intermediate=64)
    torch.manual_seed(0)
    thinker = Qwen2_5OmniThinkerForConditionalGeneration(tiny_thinker_config(len(tokenizer), token_ids, dims)).eval()
    ids, mask = left_padded_batch(len(tokenizer), tokenizer.pad_token_id)
    with torch.no_grad():
        full = thinker(input_ids=ids, attention_mask=mask).logits
        got = completion_logits(thinker, ids, mask, 4)
    torch.testing.assert_close(got, full[:, 4:8], rtol=0, atol=1e-5)


class RecordingModel(nn.Module):
    """Returns logits that encode their position, and records the arguments it was called with."""

    def __init__(self, honours_logits_to_keep: bool):
        super().__init__()
        self.honours = honours_logits_to_keep
        self.calls = []

    def forward(self, input_ids, attention_mask, logits_to_keep=0, **kwargs):
        self.calls.append(dict(kwargs, logits_to_keep=logits_to_keep))
        positions = torch.arange(input_ids.shape[1], dtype=torch.float32)  # [L]
        logits = positions[None, :, None].expand(input_ids.shape[0], -1, 3)  # [B, L, 3]
        if self.honours and logits_to_keep:
            logits = logits[:, -logits_to_keep:]
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("honours", [True, False])
def test_completion_logits_slice_and_arguments(honours):
    model = RecordingModel(honours)
    ids = torch.zeros(2, 9, dtype=torch.long)  # P = 6, C = 3
    pixel_values, grid = torch.randn(4, 8), torch.tensor([[1, 2, 2]])
    got = completion_logits(model, ids, torch.ones_like(ids), 3, pixel_values=pixel_values, image_grid_thw=grid)
    torch.testing.assert_close(got[0, :, 0], torch.tensor([5.0, 6.0, 7.0]))  # positions P-1 .. P+C-2
    (call,) = model.calls
    assert call["logits_to_keep"] == 4 and call["use_cache"] is False
    assert call["pixel_values"] is pixel_values and call["image_grid_thw"] is grid
    completion_logits(model, ids, torch.ones_like(ids), 3, use_cache=True)
    assert model.calls[-1]["use_cache"] is True


def test_completion_logits_rejects_bad_lengths():
    model = RecordingModel(True)
    ids = torch.zeros(2, 5, dtype=torch.long)
    for length in (0, 5):
        with pytest.raises(ValueError, match="completion_length"):
            completion_logits(model, ids, torch.ones_like(ids), length)
    with pytest.raises(ValueError, match="attention_mask"):
        completion_logits(model, ids, torch.ones(2, 4, dtype=torch.long), 2)
