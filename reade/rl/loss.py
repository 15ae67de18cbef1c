"""GRPO math: group-relative advantages, the clipped surrogate loss, its KL term and clip metrics.

Pure torch, no Lightning and no I/O, so that it can be tested line by line against TRL 1.16
`GRPOTrainer` (the unit tests build a real trainer and compare loss and gradients to 1e-6).

Shapes: B completions (B = n_groups * G, the G completions of one prompt on consecutive rows),
T completion positions.

    advantages  A_i   = (r_i - nanmean(r_group)) / (nanstd(r_group) + eps)         [B]
    ratio       ρ_it  = exp(logp_it - old_logp_it)                                  [B, T]
    token loss  l_it  = -min(ρ_it A_i, clip(ρ_it, 1 - eps_low, 1 + eps_high) A_i)
                        + β (exp(ref_it - logp_it) - (ref_it - logp_it) - 1)        [B, T]
                          (the KL term times ρ_it with use_bias_correction_kl, TRL's default)

How the masked token losses are reduced to one number is `loss_type`:

    grpo     Σ_i (Σ_t m_it l_it / Σ_t m_it) / num_sequences      (mean over sequences of the
                                                                   per-sequence token mean)
    bnpo     Σ_it m_it l_it / num_tokens                          (token mean over the batch)
    dapo     Σ_it m_it l_it / num_tokens                          (the same, see below)
    dr_grpo  Σ_it m_it l_it / (num_sequences · max_completion_length)

Where this deliberately differs from TRL: every loss here is "a sum over this micro-batch divided by
a normaliser of the whole batch". The caller passes `num_sequences` and `num_tokens` of the batch
that one optimizer step covers; then summing the losses (and gradients) of its micro-batches gives
exactly the loss of the whole batch, however the batch is split. TRL instead normalises grpo and
bnpo inside each micro-batch and divides by the number of accumulation steps, so the weight of a
token depends on which micro-batch it landed in (bnpo: micro-batches with fewer tokens weigh more;
grpo: only when micro-batches differ in size). dapo is where TRL already does the global thing: it
divides by `num_items_in_batch`, the token count of the whole generation batch; which is why bnpo
and dapo coincide here. Under data parallelism, whose gradients are averaged over W ranks, pass this
rank's share of the global counts (the global count / W), as TRL does for dapo.

Without the counts, the batch's own counts are used: this is TRL single-process, one micro-batch,
gradient_accumulation_steps=1, where all four reductions agree with TRL to float rounding.
"""

from __future__ import annotations

import torch
from einops import rearrange, repeat
from torch import Tensor

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
SCALES = ("group", "batch", "none")


def _nanstd(x: Tensor, dim: int | None = None) -> Tensor:
    """Unbiased standard deviation that skips NaN entries; NaN where fewer than two values remain.

    The NaN for a lone value is TRL's `nanstd` (Bessel's correction n / (n - 1) is undefined at
    n = 1). We keep it: the advantage of a lone reward is 0 either way (r - mean = 0), but a NaN,
    not a 0, std keeps such a group out of the logged fraction of zero-std groups, as in TRL.
    """
    valid = ~torch.isnan(x)
    count = valid.sum() if dim is None else valid.sum(dim)
    mean = torch.nanmean(x) if dim is None else torch.nanmean(x, dim=dim, keepdim=True)
    squares = torch.where(valid, (x - mean) ** 2, torch.zeros_like(x))
    total = squares.sum() if dim is None else squares.sum(dim)
    variance = total / (count - 1).clamp(min=1)
    return torch.where(count > 1, variance.sqrt(), torch.full_like(variance, float("nan")))


def _check_rewards(rewards: Tensor, group_size: int) -> None:
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be 1-D [B], got shape {tuple(rewards.shape)}")
    if not rewards.is_floating_point():
        raise ValueError(f"rewards must be a floating-point tensor (NaN marks a missing reward), got {rewards.dtype}")
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    if rewards.numel() % group_size:
        raise ValueError(
            f"{rewards.numel()} rewards do not split into groups of {group_size}: "
            "B must be n_groups * group_size with each group's rows consecutive"
        )


def group_reward_std(rewards: Tensor, group_size: int) -> Tensor:
    """Unbiased, NaN-skipping reward std of each group, [B/G]; for logging the zero-std groups.

    A group whose std is 0 (every completion scored the same) contributes no gradient: the
    fraction of such groups says how much of a batch was wasted. NaN for a group with fewer than
    two scored completions (TRL's `isclose(std, 0)` then does not count it as zero-std).
    """
    _check_rewards(rewards, group_size)
    grouped = rearrange(rewards, "(g n) -> g n", n=group_size)  # [B/G, G]
    return _nanstd(grouped, dim=1)  # [B/G]


def group_advantages(rewards: Tensor, group_size: int, scale: str = "group", eps: float = 1e-4) -> Tensor:
    """Group-relative advantages, [B]: each reward minus its group's mean, divided by a std.

    `scale` is TRL's `scale_rewards`: "group" divides by each group's std (the GRPO paper),
    "batch" by one std over the whole batch (more robust when a group's std is tiny), "none" not
    at all (Dr. GRPO, which argues the division biases towards easy and impossible prompts).

    NaN rewards (a judge that failed) are left out of the means and stds and get advantage 0, so
    they neither move the policy nor shift the baseline of the others. Consequences, all as in
    TRL 1.16: a zero-std group gives 0 everywhere (r - mean = 0); an all-NaN group gives 0; a
    group with a single non-NaN reward gives 0 as well, by way of TRL's NaN std for one value
    (0 / NaN = NaN, then `nan_to_num`), not by way of 0 / eps. Like TRL, the result goes through
    `nan_to_num(nan=0)`, which also turns an infinite advantage into the largest finite float.
    """
    _check_rewards(rewards, group_size)
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {SCALES}")
    if scale == "group" and group_size < 2:
        raise ValueError("scale='group' needs group_size >= 2: the std of a single reward is undefined")
    grouped = rearrange(rewards, "(g n) -> g n", n=group_size)  # [B/G, G]
    mean = torch.nanmean(grouped, dim=1, keepdim=True)  # [B/G, 1]
    advantages = rearrange(grouped - mean, "g n -> (g n)")  # [B]
    if scale == "group":
        std = repeat(_nanstd(grouped, dim=1), "g -> (g n)", n=group_size)  # [B]
        advantages = advantages / (std + eps)
    elif scale == "batch":
        advantages = advantages / (_nanstd(rewards) + eps)  # scalar std
    return torch.nan_to_num(advantages, nan=0.0)


def per_token_kl(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k3 estimator of KL(π || π_ref) per token, [B, T]: exp(d) - d - 1 with d = ref_logp - logp.

    Unbiased for samples from π, always >= 0, and lower variance than -d (Schulman's "k3"); its
    gradient is what TRL and DeepSeekMath use for the β term.
    """
    delta = ref_logp - logp  # [B, T]
    return torch.exp(delta) - delta - 1


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def grpo_loss(
    logp: Tensor,
    old_logp: Tensor | None,
    ref_logp: Tensor | None,
    advantages: Tensor,
    mask: Tensor,
    *,
    beta: float,
    eps_low: float,
    eps_high: float,
    loss_type: str,
    max_completion_length: int,
    num_sequences: int | Tensor | None = None,
    num_tokens: int | Tensor | None = None,
    use_bias_correction_kl: bool = False,
) -> Tensor:
    """The clipped GRPO surrogate (plus β·KL) of one micro-batch, as a scalar to minimise.

    logp [B, T] carries the gradient; old_logp [B, T] are the log-probs of the policy that sampled
    (None: on-policy, i.e. `logp.detach()`, as TRL does when it skips computing them); ref_logp
    [B, T] those of the reference model (may be None when beta == 0); advantages [B]; mask [B, T]
    is 1 on completion tokens that count. `num_sequences` and `num_tokens` are the sequence count
    and the mask sum of the whole batch one optimizer step covers (module docstring); left out,
    this micro-batch's own counts are used.

    `use_bias_correction_kl` multiplies the k3 term by the (differentiable) importance ratio, which
    makes its gradient the unbiased reverse-KL gradient off-policy (DeepSeek-V3.2). Off by default:
    the GRPO of DeepSeekMath and of the paper adds plain β·k3. TRL 1.16 has the same switch and
    turns it ON by default (`GRPOConfig.use_bias_correction_kl=True`); pass True to match a TRL
    run with default settings. It changes the gradient even on-policy, where the ratio is 1.
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss_type {loss_type!r}; expected one of {LOSS_TYPES}")
    if logp.ndim != 2 or mask.shape != logp.shape:
        raise ValueError(f"logp and mask must both be [B, T], got {tuple(logp.shape)} and {tuple(mask.shape)}")
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must be [B] = {tuple(logp.shape[:1])}, got {tuple(advantages.shape)}")
    if old_logp is not None and old_logp.shape != logp.shape:
        raise ValueError(f"old_logp must be {tuple(logp.shape)}, got {tuple(old_logp.shape)}")
    if beta != 0.0 and (ref_logp is None or ref_logp.shape != logp.shape):
        got = None if ref_logp is None else tuple(ref_logp.shape)
        raise ValueError(f"beta={beta} needs ref_logp of shape {tuple(logp.shape)}, got {got}")
    if max_completion_length < 1:
        raise ValueError(f"max_completion_length must be positive, got {max_completion_length}")

    old_logp = logp.detach() if old_logp is None else old_logp
    mask = mask.to(logp.dtype)  # [B, T]
    adv = rearrange(advantages, "b -> b 1")  # [B, 1]
    ratio = torch.exp(logp - old_logp)  # [B, T]
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)  # [B, T]
    token_loss = -torch.min(ratio * adv, clipped * adv)  # [B, T]
    if beta != 0.0:
        kl = per_token_kl(logp, ref_logp)  # [B, T]
        if use_bias_correction_kl:
            kl = kl * ratio  # [B, T]
        token_loss = token_loss + beta * kl  # [B, T]
    masked = token_loss * mask  # [B, T]

    def count(given: int | Tensor | None, own: Tensor | int) -> Tensor:
        value = own if given is None else given
        return torch.as_tensor(value, dtype=logp.dtype, device=logp.device)

    if loss_type == "grpo":
        sequence_means = masked.sum(-1) / mask.sum(-1).clamp(min=1.0)  # [B]
        return sequence_means.sum() / count(num_sequences, logp.shape[0])
    if loss_type in ("bnpo", "dapo"):
        return masked.sum() / count(num_tokens, mask.sum()).clamp(min=1.0)
    return masked.sum() / (count(num_sequences, logp.shape[0]) * max_completion_length)  # dr_grpo


@torch.no_grad()
def clip_fractions(
    logp: Tensor, old_logp: Tensor, advantages: Tensor, mask: Tensor, *, eps_low: float, eps_high: float
) -> dict[str, Tensor]:
    """Fractions of completion tokens whose ratio the clip actually binds, as TRL logs them.

    "low": ratio < 1 - eps_low on a negative advantage; "high": ratio > 1 + eps_high on a positive
    advantage; "region": either. Only these tokens lose their gradient (the min picks the clipped,
    constant branch), so these, not the raw out-of-range fractions, say how much the trust region
    bites. Each is a masked mean over all tokens of the batch (TRL's clip_ratio/*_mean).
    """
    mask = mask.to(logp.dtype)  # [B, T]
    ratio = torch.exp(logp - old_logp)  # [B, T]
    adv = rearrange(advantages, "b -> b 1")  # [B, 1]
    low = (ratio < 1 - eps_low) & (adv < 0)  # [B, T]
    high = (ratio > 1 + eps_high) & (adv > 0)  # [B, T]
    return {
        "low": _masked_mean(low.to(logp.dtype), mask),
        "high": _masked_mean(high.to(logp.dtype), mask),
        "region": _masked_mean((low | high).to(logp.dtype), mask),
    }
