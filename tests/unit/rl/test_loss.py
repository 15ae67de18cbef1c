"""reade.rl.loss: hand-computed advantage tables, and loss/gradients against a real TRL 1.16 GRPOTrainer.

The TRL comparison builds `trl.GRPOTrainer` around a tiny random Qwen2 (float32, CPU) and calls its
`_compute_loss` on fixed inputs, then recomputes the same loss with `completion_logits`,
`token_logprobs` and `grpo_loss` on the same model: loss, every parameter gradient and the logged
metrics must agree to 1e-6. Advantages are compared with TRL's own `_generate_and_score_completions`
(real generation from the tiny model, rewards from a fixed table).
"""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset
from transformers import Qwen2Config, Qwen2ForCausalLM
from trl import GRPOConfig, GRPOTrainer

from reade.models.tokenizer import load_tokenizer
from reade.rl.logprobs import completion_logits, token_entropy, token_logprobs
from reade.rl.loss import (
    LOSS_TYPES,
    clip_fractions,
    group_advantages,
    group_reward_std,
    grpo_loss,
    per_token_kl,
)

NAN = float("nan")
EPS = 1e-4


def _adv(centred: float, std: float, eps: float = EPS) -> float:
    return centred / (std + eps)


S2 = math.sqrt(0.5)  # unbiased std of {0, 1}
S1234 = math.sqrt(5 / 3)  # unbiased std of {1, 2, 3, 4}

# (rewards, group_size, scale, expected advantages), worked out by hand from
# A = (r - nanmean(group)) / (unbiased nanstd + 1e-4), NaN -> 0.
ADVANTAGE_CASES = {
    "mixed groups": ([1.0, 0.0, 0.0, 1.0], 2, "group", [_adv(0.5, S2), _adv(-0.5, S2), _adv(-0.5, S2), _adv(0.5, S2)]),
    "group of four": (
        [1.0, 2.0, 3.0, 4.0],
        4,
        "group",
        [_adv(-1.5, S1234), _adv(-0.5, S1234), _adv(0.5, S1234), _adv(1.5, S1234)],
    ),
    "zero-std group": ([0.3, 0.3, 1.0, 0.0], 2, "group", [0.0, 0.0, _adv(0.5, S2), _adv(-0.5, S2)]),
    # group {1, 3}: mean 2, std sqrt(2); the NaN row gets 0 and is not in the statistics
    "NaN in a group": ([1.0, NAN, 3.0], 3, "group", [_adv(-1.0, math.sqrt(2)), 0.0, _adv(1.0, math.sqrt(2))]),
    "whole-NaN group": ([NAN, NAN, 1.0, 0.0], 2, "group", [0.0, 0.0, _adv(0.5, S2), _adv(-0.5, S2)]),
    # one scored reward: TRL's nanstd is NaN for one value, so the advantage is 0
    "single scored reward": ([NAN, 2.0, 1.0, 0.0], 2, "group", [0.0, 0.0, _adv(0.5, S2), _adv(-0.5, S2)]),
    # group means 0.5 and 2; one std over {1, 0, 3, 1}: mean 1.25, sum of squares 4.75, /3
    "batch": (
        [1.0, 0.0, 3.0, 1.0],
        2,
        "batch",
        [_adv(c, math.sqrt(4.75 / 3)) for c in (0.5, -0.5, 1.0, -1.0)],
    ),
    # group means 1 and 2; batch std over {1, 3, 1}: mean 5/3, sum of squares 24/9, /2
    "batch with NaN": (
        [1.0, NAN, 3.0, 1.0],
        2,
        "batch",
        [0.0, 0.0, _adv(1.0, math.sqrt(4 / 3)), _adv(-1.0, math.sqrt(4 / 3))],
    ),
    "batch, group of one": ([1.0, 3.0], 1, "batch", [0.0, 0.0]),
    "none": ([1.0, 0.0, 3.0, 1.0], 2, "none", [0.5, -0.5, 1.0, -1.0]),
    "none with NaN": ([NAN, 1.0, 2.0, 4.0], 2, "none", [0.0, 0.0, -1.0, 1.0]),
}


@pytest.mark.parametrize("rewards, group_size, scale, expected", ADVANTAGE_CASES.values(), ids=ADVANTAGE_CASES)
def test_group_advantages_table(rewards, group_size, scale, expected):
    got = group_advantages(torch.tensor(rewards), group_size, scale)
    torch.testing.assert_close(got, torch.tensor(expected), rtol=0, atol=1e-6)


def test_group_advantages_eps():
    got = group_advantages(torch.tensor([1.0, 0.0]), 2, eps=0.5)
    torch.testing.assert_close(got, torch.tensor([0.5 / (S2 + 0.5), -0.5 / (S2 + 0.5)]))


@pytest.mark.parametrize(
    "rewards, group_size, scale, message",
    [
        ([[1.0, 0.0]], 2, "group", "1-D"),
        ([1.0, 0.0, 1.0], 2, "group", "groups of 2"),
        ([1.0, 0.0], 1, "group", "group_size >= 2"),
        ([1.0, 0.0], 0, "none", "at least 1"),
        ([1.0, 0.0], 2, "std", "unknown scale"),
        ([1, 0], 2, "group", "floating-point"),
    ],
)
def test_group_advantages_rejects(rewards, group_size, scale, message):
    with pytest.raises(ValueError, match=message):
        group_advantages(torch.tensor(rewards), group_size, scale)


def test_group_reward_std():
    rewards = torch.tensor([1.0, 0.0, 0.3, 0.3, 1.0, NAN, NAN, NAN, 1.0, 2.0, 3.0, NAN])
    got = group_reward_std(rewards, 2)
    torch.testing.assert_close(got, torch.tensor([S2, 0.0, NAN, NAN, S2, NAN]), equal_nan=True)
    torch.testing.assert_close(group_reward_std(rewards[-4:], 4), torch.tensor([1.0]))  # std of {1, 2, 3}


def test_per_token_kl():
    logp = torch.tensor([[-1.0, -2.0, -0.5]])
    ref = torch.tensor([[-1.0, -1.0, -1.5]])
    expected = torch.tensor([[0.0, math.e - 2.0, math.exp(-1.0)]])  # exp(d) - d - 1, d = ref - logp
    torch.testing.assert_close(per_token_kl(logp, ref), expected)


# --- the loss on hand-checkable inputs -----------------------------------------------------------


def test_on_policy_loss_is_minus_mean_advantage():
    """old_logp None means ratio 1: every loss type is then minus a weighted mean of A."""
    logp = torch.randn(3, 4)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    adv = torch.tensor([1.0, -2.0, 0.5])
    kwargs = dict(beta=0.0, eps_low=0.2, eps_high=0.2, max_completion_length=4)
    torch.testing.assert_close(grpo_loss(logp, None, None, adv, mask, loss_type="grpo", **kwargs), -adv.mean())
    token_mean = -(4 * 1.0 + 2 * -2.0 + 1 * 0.5) / 7
    for loss_type in ("bnpo", "dapo"):
        got = grpo_loss(logp, None, None, adv, mask, loss_type=loss_type, **kwargs)
        torch.testing.assert_close(got, torch.tensor(token_mean))
    dr = grpo_loss(logp, None, None, adv, mask, loss_type="dr_grpo", **kwargs)
    torch.testing.assert_close(dr, torch.tensor(-(4 * 1.0 + 2 * -2.0 + 1 * 0.5) / (3 * 4)))


def test_grpo_loss_rejects_bad_input():
    logp, mask, adv = torch.zeros(2, 3), torch.ones(2, 3), torch.zeros(2)
    kwargs = dict(eps_low=0.2, eps_high=0.2, max_completion_length=3)
    with pytest.raises(ValueError, match="unknown loss_type"):
        grpo_loss(logp, logp, None, adv, mask, beta=0.0, loss_type="gspo", **kwargs)
    with pytest.raises(ValueError, match="needs ref_logp"):
        grpo_loss(logp, logp, None, adv, mask, beta=0.1, loss_type="grpo", **kwargs)
    with pytest.raises(ValueError, match="advantages"):
        grpo_loss(logp, logp, None, torch.zeros(2, 3), mask, beta=0.0, loss_type="grpo", **kwargs)
    with pytest.raises(ValueError, match="mask"):
        grpo_loss(logp, logp, None, adv, torch.ones(2, 4), beta=0.0, loss_type="grpo", **kwargs)


def test_clip_fractions_by_hand():
    old = torch.zeros(2, 3)
    logp = torch.log(torch.tensor([[0.5, 1.0, 1.5], [0.5, 1.0, 1.5]]))  # ratios 0.5, 1, 1.5
    adv = torch.tensor([-1.0, 1.0])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    got = clip_fractions(logp, old, adv, mask, eps_low=0.2, eps_high=0.28)
    # row 0 (A < 0): 0.5 is low-clipped, 1.5 is not (clipping binds only on the side that helps);
    # row 1 (A > 0): 1.5 would be high-clipped but is masked out.
    assert got["low"].item() == pytest.approx(1 / 5)
    assert got["high"].item() == 0.0
    assert got["region"].item() == pytest.approx(1 / 5)


# --- micro-batch invariance ------------------------------------------------------------------------


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
@pytest.mark.parametrize("beta", [0.0, 0.04])
def test_micro_batches_sum_to_the_whole_batch(loss_type, beta):
    g = torch.Generator().manual_seed(0)
    B, T = 7, 6
    logp = (-3 * torch.rand(B, T, generator=g)).requires_grad_()
    old = logp.detach() + 0.6 * (torch.rand(B, T, generator=g) - 0.5)
    ref = logp.detach() + 0.6 * (torch.rand(B, T, generator=g) - 0.5)
    adv = torch.randn(B, generator=g)
    lengths = torch.tensor([6, 1, 3, 6, 2, 5, 4])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    kwargs = dict(beta=beta, eps_low=0.2, eps_high=0.28, loss_type=loss_type, max_completion_length=8)

    whole = grpo_loss(logp, old, ref, adv, mask, **kwargs)
    (whole_grad,) = torch.autograd.grad(whole, logp)
    counted = grpo_loss(logp, old, ref, adv, mask, num_sequences=B, num_tokens=mask.sum(), **kwargs)
    torch.testing.assert_close(counted, whole)

    parts = [slice(0, 1), slice(1, 4), slice(4, 7)]  # uneven sizes and token counts
    summed = sum(
        grpo_loss(logp[s], old[s], ref[s], adv[s], mask[s], num_sequences=B, num_tokens=mask.sum(), **kwargs)
        for s in parts
    )
    (summed_grad,) = torch.autograd.grad(summed, logp)
    torch.testing.assert_close(summed, whole, rtol=0, atol=1e-6)
    torch.testing.assert_close(summed_grad, whole_grad, rtol=0, atol=1e-7)


def test_bnpo_and_dapo_coincide():
    g = torch.Generator().manual_seed(1)
    logp, old = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    adv, mask = torch.randn(4, generator=g), (torch.rand(4, 5, generator=g) > 0.3).long()
    kwargs = dict(beta=0.0, eps_low=0.2, eps_high=0.28, max_completion_length=5)
    torch.testing.assert_close(
        grpo_loss(logp, old, None, adv, mask, loss_type="bnpo", **kwargs),
        grpo_loss(logp, old, None, adv, mask, loss_type="dapo", **kwargs),
    )


# --- against TRL 1.16 GRPOTrainer ------------------------------------------------------------------

G = 2  # completions per prompt
B, P, C = 4, 5, 6  # completions, prompt length, completion length (= max_completion_length)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is faster, and several times faster on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, tokenizer):
    """A tiny random Qwen2 saved to disk: with beta != 0 TRL rebuilds the reference model from its path."""
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny_qwen2")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


def make_trainer(folder, tokenizer, output_dir, reward_func=None, **config) -> GRPOTrainer:
    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=torch.float32)
    config = dict(num_generations=G, per_device_train_batch_size=B, max_completion_length=C) | config
    args = GRPOConfig(output_dir=str(output_dir), report_to=[], use_cpu=True, bf16=False, **config)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=reward_func or (lambda completions, **kwargs: [0.0] * len(completions)),
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["a b", "c d"]}),
        processing_class=tokenizer,
    )
    # `_compute_loss` reads its mode from `model.training` and, in train mode, divides by
    # `current_gradient_accumulation_steps`, which the Trainer only sets inside its training loop.
    model.train()
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def fixed_inputs(model, tokenizer, seed: int = 1, temperature: float = 1.0) -> dict:
    """A left-padded prompt batch, right-padded completions, and old/ref log-probs pushed ±0.4 nats
    away from the current policy so that clipping binds on both sides."""
    g = torch.Generator().manual_seed(seed)
    pad = tokenizer.pad_token_id
    prompt_ids = torch.randint(20, len(tokenizer), (B, P), generator=g)  # [B, P]
    prompt_mask = torch.ones(B, P, dtype=torch.long)
    prompt_mask[1, :2] = 0
    prompt_ids[prompt_mask == 0] = pad
    completion_ids = torch.randint(20, len(tokenizer), (B, C), generator=g)  # [B, C]
    completion_mask = torch.ones(B, C, dtype=torch.long)
    completion_mask[0, 4:] = 0
    completion_mask[2, 2:] = 0
    completion_ids[completion_mask == 0] = pad
    input_ids = torch.cat([prompt_ids, completion_ids], 1)  # [B, P+C]
    attention_mask = torch.cat([prompt_mask, completion_mask], 1)  # [B, P+C]
    with torch.no_grad():
        logp = token_logprobs(completion_logits(model, input_ids, attention_mask, C), completion_ids, temperature)
    valid = completion_mask.bool()
    # TRL's own log-probs are 0 on padding: so are these
    old = torch.where(valid, logp + 0.8 * (torch.rand(B, C, generator=g) - 0.5), 0.0)
    ref = torch.where(valid, logp + 0.8 * (torch.rand(B, C, generator=g) - 0.5), 0.0)
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": prompt_mask,
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "advantages": torch.tensor([0.9, -0.9, 1.2, -0.4]),
        "old_per_token_logps": old,
        "ref_per_token_logps": ref,
        "num_items_in_batch": completion_mask.sum(),
    }


def trl_loss_and_grads(trainer, inputs):
    model = trainer.model
    model.zero_grad(set_to_none=True)
    loss = trainer._compute_loss(model, inputs)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return loss.detach(), grads


def our_loss_and_grads(model, inputs, *, temperature=1.0, **loss_kwargs):
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
    attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1)
    model.zero_grad(set_to_none=True)
    logits = completion_logits(model, ids, attention_mask, inputs["completion_ids"].shape[1])  # [B, C, V]
    logp = token_logprobs(logits, inputs["completion_ids"], temperature)  # [B, C]
    loss = grpo_loss(
        logp,
        inputs["old_per_token_logps"],
        inputs["ref_per_token_logps"] if loss_kwargs["beta"] else None,
        inputs["advantages"],
        inputs["completion_mask"],
        **loss_kwargs,
    )
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return loss.detach(), grads, logp.detach(), logits.detach()


def assert_same(trl_result, ours):
    (trl_loss, trl_grads), (our_loss, our_grads) = trl_result, ours[:2]
    torch.testing.assert_close(our_loss, trl_loss, rtol=0, atol=1e-6)
    assert our_grads.keys() == trl_grads.keys()
    for name, grad in trl_grads.items():
        torch.testing.assert_close(our_grads[name], grad, rtol=0, atol=1e-6, msg=lambda m: f"{name}: {m}")
    assert any(g.abs().max() > 1e-3 for g in trl_grads.values()), "the gradients compared are all ~0"


EPSILONS = {"symmetric": (0.2, 0.2), "asymmetric": (0.2, 0.28)}
KL_SETTINGS = {"beta=0": (0.0, False), "beta=0.04": (0.04, False), "beta=0.04,bias-corrected": (0.04, True)}


@pytest.mark.parametrize("eps_low, eps_high", EPSILONS.values(), ids=EPSILONS)
@pytest.mark.parametrize("beta, corrected", KL_SETTINGS.values(), ids=KL_SETTINGS)
@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_matches_trl_compute_loss(tiny_model_dir, tokenizer, tmp_path, loss_type, beta, corrected, eps_low, eps_high):
    trainer = make_trainer(
        tiny_model_dir,
        tokenizer,
        tmp_path,
        loss_type=loss_type,
        beta=beta,
        epsilon=eps_low,
        epsilon_high=eps_high,
        use_bias_correction_kl=corrected,
    )
    model = trainer.model
    inputs = fixed_inputs(model, tokenizer)
    trl_result = trl_loss_and_grads(trainer, inputs)
    ours = our_loss_and_grads(
        model,
        inputs,
        beta=beta,
        eps_low=eps_low,
        eps_high=eps_high,
        loss_type=loss_type,
        max_completion_length=C,
        use_bias_correction_kl=corrected,
    )
    assert_same(trl_result, ours)

    # the metrics TRL logged during that call
    logp, logits = ours[2], ours[3]
    old, adv, mask = inputs["old_per_token_logps"], inputs["advantages"], inputs["completion_mask"]
    fractions = clip_fractions(logp, old, adv, mask, eps_low=eps_low, eps_high=eps_high)
    assert fractions["low"] > 0 and fractions["high"] > 0, "clipping must bind on both sides"
    logged = trainer._metrics["train"]
    for key in ("low", "high", "region"):
        assert fractions[key].item() == pytest.approx(logged[f"clip_ratio/{key}_mean"][-1], abs=1e-6)
    valid = mask.bool()
    assert token_entropy(logits)[valid].mean().item() == pytest.approx(logged["entropy"][-1], abs=1e-5)
    if beta:
        kl = per_token_kl(logp, inputs["ref_per_token_logps"])
        if corrected:
            kl = kl * torch.exp(logp - old)
        assert kl[valid].mean().item() == pytest.approx(logged["kl"][-1], abs=1e-6)
    else:
        assert "kl" not in logged


def test_matches_trl_with_temperature(tiny_model_dir, tokenizer, tmp_path):
    """TRL divides the logits by the sampling temperature before the log-softmax; so do we."""
    trainer = make_trainer(tiny_model_dir, tokenizer, tmp_path, loss_type="grpo", beta=0.04, temperature=0.7)
    inputs = fixed_inputs(trainer.model, tokenizer, temperature=0.7)
    trl_result = trl_loss_and_grads(trainer, inputs)
    ours = our_loss_and_grads(
        trainer.model,
        inputs,
        temperature=0.7,
        beta=0.04,
        eps_low=0.2,
        eps_high=0.2,
        loss_type="grpo",
        max_completion_length=C,
        use_bias_correction_kl=True,
    )
    assert_same(trl_result, ours)
    entropy = token_entropy(ours[3], temperature=0.7)[inputs["completion_mask"].bool()].mean()
    assert entropy.item() == pytest.approx(trainer._metrics["train"]["entropy"][-1], abs=1e-5)


def test_dapo_global_token_count_is_trl_num_items_in_batch(tiny_model_dir, tokenizer, tmp_path):
    """Our `num_tokens` is TRL's `num_items_in_batch` (one process, no accumulation)."""
    trainer = make_trainer(tiny_model_dir, tokenizer, tmp_path, loss_type="dapo", beta=0.0, epsilon_high=0.28)
    inputs = fixed_inputs(trainer.model, tokenizer)
    inputs["num_items_in_batch"] = torch.tensor(37)  # as if this were one micro-batch of a bigger batch
    trl_result = trl_loss_and_grads(trainer, inputs)
    ours = our_loss_and_grads(
        trainer.model,
        inputs,
        beta=0.0,
        eps_low=0.2,
        eps_high=0.28,
        loss_type="dapo",
        max_completion_length=C,
        num_tokens=37,
    )
    assert_same(trl_result, ours)


REWARD_TABLE = [0.1, 0.7, 0.3, 0.9, 1.0, NAN, 0.0, 0.5, 0.2, 0.2, 0.2, 0.2, NAN, NAN, 0.4, NAN, NAN, NAN, NAN, NAN]


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_advantages_match_trl(tiny_model_dir, tokenizer, tmp_path, scale):
    """TRL's own `_generate_and_score_completions`: real sampling, rewards from a fixed table (None = NaN)."""
    group_size = 4

    def table_reward(completions, **kwargs):
        assert len(completions) == len(REWARD_TABLE)
        return [None if math.isnan(r) else r for r in REWARD_TABLE]

    trainer = make_trainer(
        tiny_model_dir,
        tokenizer,
        tmp_path,
        reward_func=table_reward,
        scale_rewards=scale,
        num_generations=group_size,
        per_device_train_batch_size=len(REWARD_TABLE),
        max_completion_length=2,
    )
    batch = [{"prompt": f"prompt {i // group_size}"} for i in range(len(REWARD_TABLE))]
    output = trainer._generate_and_score_completions(batch)
    rewards = torch.tensor(REWARD_TABLE)
    torch.testing.assert_close(group_advantages(rewards, group_size, scale), output["advantages"], rtol=0, atol=1e-6)
    if scale != "batch":  # TRL's zero-std fraction is per group, except under batch scaling
        zero = torch.isclose(group_reward_std(rewards, group_size), torch.tensor(0.0)).float().mean()
        assert zero.item() == pytest.approx(trainer._metrics["train"]["frac_reward_zero_std"][-1])
