"""The HF engine's decode loop: each step is a forward pass over prompt and completion (thinker with
media and camera, LoRA, a Qwen2 causal LM), greedy output is `generate`'s, the inverse-CDF sampler
draws the right distribution, and models it cannot decode are named."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from reade.data.synthetic.trajectory import camera_trajectory
from reade.models.decoding import Sampler, TextDecoder, decode, greedy_completions, sample_tokens, text_decoder
from reade.rl.logprobs import completion_logits, token_logprobs

TEXT = ["A red fox runs through snow, pan left", "Garden, zoom in", "A robot dances on a stage under blue light"]


def text_prompts(processor):
    return processor(TEXT, [[]] * len(TEXT))


def media_prompts(processor, media):
    """Rows of different lengths (left padding) whose media shift the thinker's multimodal positions."""
    return processor(["Make it rain", "Keep this face", "zoom in"], [
        [("identity", media["image"]), ("audio", media["audio"])],
        [("depth", media["frames"][:3])],
        [],
    ])


def camera_prompts(processor, media):
    return processor(["Describe the camera motion.", "rain"], [
        [("identity", media["image"]), ("camera", camera_trajectory("pan left", 6))],
        [("camera", camera_trajectory("zoom in", 20)), ("pose", media["frames"][:2])],
    ])


def cases(request, media):
    """(model, processor, prompts) for the parametrised case name."""
    name = request.param
    model, processor = request.getfixturevalue({"thinker text": "thinker", "thinker media": "thinker",
                                                "camera + LoRA": "interpreter_with_lora",
                                                "qwen2 causal LM": "causal_lm"}[name])
    prompts = {"thinker text": text_prompts, "qwen2 causal LM": text_prompts}.get(name)
    if prompts is not None:
        return model, processor, prompts(processor)
    maker = media_prompts if name == "thinker media" else camera_prompts
    return model, processor, maker(processor, media)


CASES = ["thinker text", "thinker media", "camera + LoRA", "qwen2 causal LM"]


@pytest.fixture(params=CASES)
def case(request, media):
    return cases(request, media)


def full_forward_logprobs(model, processor, prompts, ids, temperature):
    """log-probs of `ids` under one forward pass over prompt + completion, suppressed ids at -inf."""
    inputs = dict(prompts)
    inputs["input_ids"] = torch.cat([prompts["input_ids"], ids], 1)
    inputs["attention_mask"] = torch.cat([prompts["attention_mask"], torch.ones_like(ids)], 1)
    with torch.no_grad():
        logits = completion_logits(model, **inputs, completion_length=ids.shape[1])
    logits[..., processor.suppressed_ids] = float("-inf")
    return token_logprobs(logits, ids, temperature)


def test_each_sampled_step_is_a_forward_pass_over_prompt_and_completion(case):
    model, processor, prompts = case
    torch.manual_seed(0)
    ids, logp = decode(model, text_decoder(model), prompts, Sampler(processor.suppressed_ids, temperature=0.7),
                       max_new_tokens=20, eos_token_id=-1, pad_token_id=processor.pad_token_id, logprobs=True)
    assert ids.shape == (prompts["input_ids"].shape[0], 20)
    expected = full_forward_logprobs(model, processor, prompts, ids, 0.7)
    torch.testing.assert_close(logp, expected, atol=1e-5, rtol=0)


def test_greedy_decoding_equals_generate(case):
    model, processor, prompts = case
    ids, _ = decode(model, text_decoder(model), prompts, Sampler(processor.suppressed_ids, greedy=True),
                    max_new_tokens=12, eos_token_id=processor.eos_token_id, pad_token_id=processor.pad_token_id)
    with torch.no_grad():
        generated = model.generate(**prompts, max_new_tokens=12, do_sample=False,
                                   eos_token_id=processor.eos_token_id, pad_token_id=processor.pad_token_id)
    assert torch.equal(ids, generated[:, prompts["input_ids"].shape[1]:])
    assert greedy_completions(model, processor, prompts, 12) == processor.decode(ids)


def test_decoding_stops_once_every_row_has_ended(thinker):
    model, processor = thinker
    prompts = text_prompts(processor)
    eos, pad = processor.eos_token_id, processor.pad_token_id
    script = iter([torch.tensor([eos, 7, 8]), torch.tensor([9, eos, 9]), torch.tensor([9, 9, eos])])

    def scripted(logits):
        return next(script), logits

    ids, logp = decode(model, text_decoder(model), prompts, scripted, max_new_tokens=50,
                       eos_token_id=eos, pad_token_id=pad, logprobs=True)
    assert ids.tolist() == [[eos, pad, pad], [7, eos, pad], [8, 9, eos]]
    assert (logp[ids == pad] == 0).all() and (logp[ids != pad] < 0).all()


def test_inverse_cdf_draws_the_given_distribution():
    torch.manual_seed(0)
    probs = torch.tensor([[0.5, 0.0, 0.3, 0.2], [0.0, 0.0, 0.0, 2.0]]).repeat(20_000, 1)  # rows need not sum to 1
    drawn = sample_tokens(probs).reshape(20_000, 2)
    first = torch.bincount(drawn[:, 0], minlength=4).float() / 20_000
    torch.testing.assert_close(first, torch.tensor([0.5, 0.0, 0.3, 0.2]), atol=0.015, rtol=0)
    assert first[1] == 0  # probability 0 is never drawn
    assert (drawn[:, 1] == 3).all()


def test_sampler_suppresses_then_filters_like_generate():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]]).repeat(4000, 1)
    torch.manual_seed(0)
    tokens, scores = Sampler([0], top_k=2)(logits)
    assert set(tokens.tolist()) == {1, 2}  # 0 suppressed, then the two best of the rest
    assert torch.isinf(scores[:, 0]).all() and torch.isfinite(scores[:, 1:]).all()  # log-probs before the filter
    tokens, _ = Sampler([], top_p=0.5)(logits)
    assert set(tokens.tolist()) == {0}  # softmax([4,3,2,1,0])[0] = 0.64 covers p = 0.5
    tokens, scores = Sampler([], temperature=0.5)(logits)
    torch.testing.assert_close(scores, logits / 0.5)
    greedy, _ = Sampler([0], greedy=True)(logits)
    assert (greedy == 1).all()


def test_other_decoders_are_refused_by_name():
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    with pytest.raises(ValueError, match="runs Qwen2-family.*'llama'"):
        text_decoder(llama)
    sliding = Qwen2ForCausalLM(Qwen2Config(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, num_key_value_heads=1, use_sliding_window=True,
                                           sliding_window=4, max_window_layers=0))
    assert TextDecoder.of(sliding) is None
