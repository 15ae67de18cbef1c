"""A rollout engine for tests that compare GRPO runs across rank counts.

`PromptSeededRollout` samples each prompt's group from a seed derived from the prompt's tokens, so a
prompt gets the same completions whichever rank samples it and whichever prompts share its batch;
runs on 1 and on 2 ranks then train on identical data, and their updates can be compared exactly.
"""

from __future__ import annotations

import torch
from torch.nn.functional import pad

from reade.rl.rollout.base import Rollouts
from reade.rl.rollout.hf import HFRollout


class PromptSeededRollout(HFRollout):
    def generate(self, model, processor, prompts, *, logprobs=False):
        ids, attention = prompts["input_ids"], prompts["attention_mask"]  # [N, P]
        starts = [0] + [i for i in range(1, len(ids)) if not torch.equal(ids[i], ids[i - 1])] + [len(ids)]
        groups = []
        for first, end in zip(starts, starts[1:]):
            keep = attention[first:end].any(0)  # the group alone, without the batch's extra padding
            group = {"input_ids": ids[first:end][:, keep], "attention_mask": attention[first:end][:, keep]}
            real = group["input_ids"][0][group["attention_mask"][0] == 1]
            torch.manual_seed(int((real * torch.arange(1, len(real) + 1)).sum()) % 2**31)
            groups.append(super().generate(model, processor, group, logprobs=True))
        width = max(g.completion_ids.shape[1] for g in groups)
        return Rollouts(
            completion_ids=torch.cat([pad(g.completion_ids, (0, width - g.completion_ids.shape[1]), value=processor.pad_token_id) for g in groups]),
            completion_mask=torch.cat([pad(g.completion_mask, (0, width - g.completion_mask.shape[1])) for g in groups]),
            truncated=torch.cat([g.truncated for g in groups]),
            texts=[text for g in groups for text in g.texts],
            sampling_logp=torch.cat([pad(g.sampling_logp, (0, width - g.sampling_logp.shape[1])) for g in groups]),
        )
