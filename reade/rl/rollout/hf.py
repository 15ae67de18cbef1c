"""`rollout=hf`: the policy samples its own completions with `generate` and its KV cache.

The log-prob of every sampled token is recorded while sampling (a logits processor keeps the
temperature-scaled distribution of the step before and reads the token that step chose), so the
GRPO loop never runs a separate forward pass for the sampling log-probs: memory O(N·V), not O(N·C·V).
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from reade.rl.rollout.base import Rollouts, RolloutEngine, completion_mask


class SampledLogprobRecorder(LogitsProcessor):
    """Collects log softmax(logits / T) of each sampled token, one step late.

    `generate` calls a logits processor before it samples, with the ids chosen so far; the id chosen
    at step t is therefore read at step t+1 (or by `finish` after the last step).
    """

    def __init__(self, temperature: float, prompt_length: int):
        self.temperature = temperature
        self.prompt_length = prompt_length
        self.previous: torch.Tensor | None = None  # [N, V] log-probs of the step before
        self.logps: list[torch.Tensor] = []  # each [N]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._read(input_ids)
        self.previous = torch.log_softmax(scores.float() / self.temperature, dim=-1)  # [N, V]
        return scores

    def _read(self, input_ids: torch.Tensor) -> None:
        if self.previous is not None:
            chosen = input_ids[:, -1:]  # [N, 1]
            self.logps.append(self.previous.gather(-1, chosen).squeeze(-1))

    def finish(self, sequences: torch.Tensor) -> torch.Tensor:
        """[N, C] log-probs for the C generated tokens of `sequences` ([N, P + C])."""
        self._read(sequences)
        self.previous = None
        generated = sequences.shape[1] - self.prompt_length
        if not self.logps:
            return sequences.new_zeros((sequences.shape[0], 0), dtype=torch.float32)
        return torch.stack(self.logps[:generated], dim=1)  # [N, C]


class HFRollout(RolloutEngine):
    name = "hf"

    @torch.no_grad()
    def generate(self, model: torch.nn.Module, processor, prompts: dict[str, torch.Tensor], *, logprobs: bool = False) -> Rollouts:
        s = self.sampling
        prompt_length = prompts["input_ids"].shape[1]
        recorder = SampledLogprobRecorder(s.temperature, prompt_length) if logprobs else None
        was_training = model.training
        model.eval()  # no dropout (LoRA's included) while sampling
        try:
            sequences = model.generate(
                **prompts,
                do_sample=True,
                temperature=s.temperature,
                top_p=s.top_p,
                top_k=s.top_k or None,
                max_new_tokens=s.max_new_tokens,
                eos_token_id=processor.eos_token_id,
                pad_token_id=processor.pad_token_id,
                logits_processor=LogitsProcessorList([recorder]) if recorder else None,
            )  # [N, P + C]
        finally:
            model.train(was_training)
        completion_ids = sequences[:, prompt_length:]  # [N, C]
        mask, truncated = completion_mask(completion_ids, processor.eos_token_id)
        completion_ids = completion_ids.masked_fill(mask == 0, processor.pad_token_id)
        sampling_logp = recorder.finish(sequences) * mask if recorder else None
        return Rollouts(
            completion_ids=completion_ids,
            completion_mask=mask,
            truncated=truncated,
            texts=processor.decode(completion_ids),
            sampling_logp=sampling_logp,
        )
