"""`rollout=hf`: the policy samples its own completions in this process, with a KV cache.

The decode loop is `reade.models.decoding` (the model's forward for the prompt, lean steps after
it); the log-prob of each sampled token is read off the step that drew it, so the GRPO loop never
runs a separate forward pass for the sampling log-probs.
"""

from __future__ import annotations

import torch

from reade.models.decoding import Sampler, decode, text_decoder
from reade.rl.rollout.base import Rollouts, RolloutEngine, completion_mask


class HFRollout(RolloutEngine):
    name = "hf"

    @torch.no_grad()
    def generate(self, model: torch.nn.Module, processor, prompts: dict[str, torch.Tensor], *, logprobs: bool = False) -> Rollouts:
        s = self.sampling
        sampler = Sampler(processor.suppressed_ids, temperature=s.temperature, top_k=s.top_k, top_p=s.top_p)
        was_training = model.training
        model.eval()  # no dropout (LoRA's included) while sampling
        try:
            completion_ids, sampling_logp = decode(
                model, text_decoder(model), prompts, sampler, max_new_tokens=s.max_new_tokens,
                eos_token_id=processor.eos_token_id, pad_token_id=processor.pad_token_id, logprobs=logprobs,
            )  # [N, C], [N, C] or None
        finally:
            model.train(was_training)
        mask, truncated = completion_mask(completion_ids, processor.eos_token_id)
        return Rollouts(
            completion_ids=completion_ids.masked_fill(mask == 0, processor.pad_token_id),
            completion_mask=mask,
            truncated=truncated,
            texts=processor.decode(completion_ids),
            sampling_logp=sampling_logp * mask if sampling_logp is not None else None,
        )
