"""The interpreter: the backbone (a Qwen2.5-Omni thinker, maybe LoRA-wrapped) plus the camera encoder,
as one `nn.Module` that otherwise behaves like the thinker.

How camera tokens reach the thinker (transformers 5.25, checked in tests/unit/models/test_interpreter.py):

- `forward`: the prompt's token embeddings are computed here, the camera encoder's rows are put on
  the `<|camera_pad|>` positions (`splice_camera_tokens`), and the thinker is called with BOTH
  `input_ids` and `inputs_embeds`. `Qwen2_5OmniThinkerModel.forward` embeds `input_ids` only when no
  `inputs_embeds` are given, but still reads `input_ids` for everything else: the image, video and
  audio placeholder masks it scatters its own tower features into, and the M-RoPE index
  (`get_rope_index(input_ids, grids, attention_mask, ...)`), where camera tokens are ordinary text
  positions. So identity/depth/pose/audio conditions in the same prompt work unchanged.
- `generate`: `GenerationMixin.generate(input_ids=..., inputs_embeds=...)` keeps `input_ids` in its
  model kwargs, returns `[prompt ids, new ids]` like a plain call, and computes the 3-D positions
  from those ids (the thinker's `_prepare_position_ids_for_generation` reads
  `model_kwargs["input_ids"]`). On the prefill step `prepare_inputs_for_generation` passes
  `inputs_embeds` and `input_ids=None`; the thinker then finds its media placeholders by comparing
  embeddings with the placeholder tokens' own rows (`get_placeholder_mask`), which our splice leaves
  untouched, and pixel/audio inputs are dropped after prefill as usual. Later steps feed the new
  token ids through the KV cache, so the encoder runs once per prompt.

Without `camera_maps` both calls go straight to the thinker, so a prompt without camera conditions
gives exactly the thinker's logits. A prompt with `<|camera_pad|>` tokens and no maps is an error
(it would otherwise read the placeholder's untrained embedding silently).

Attributes the wrapper does not define (`config`, `generation_config`, `device`, ...) are the
thinker's. Saving and loading go through `reade.models.backbone.save_checkpoint` / `load_backbone`:
an HF thinker folder plus `camera_encoder.safetensors` / `camera_encoder.json` and the processor's
`camera_input.json`.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from peft import PeftModel
from torch import Tensor, nn

from reade.models.camera_encoder import CameraEncoder, splice_camera_tokens
from reade.models.processing import IGNORE_INDEX


class InterpreterModel(nn.Module):
    """`thinker` (a Qwen2.5-Omni thinker or a peft model around one) + `camera_encoder` (ViT and projector)."""

    def __init__(self, thinker: nn.Module, camera_encoder: CameraEncoder, camera_pad_id: int):
        super().__init__()
        hidden = thinker.get_input_embeddings().embedding_dim
        if camera_encoder.config.out_hidden_size != hidden:
            raise ValueError(
                f"camera encoder projects to {camera_encoder.config.out_hidden_size} but the backbone is {hidden} wide"
            )
        self.thinker = thinker
        self.camera_encoder = camera_encoder
        self.camera_pad_id = camera_pad_id

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # parameters, buffers, submodules
        except AttributeError:
            if name == "thinker":
                raise
            return getattr(self.thinker, name)

    def embed(self, input_ids: Tensor, camera_maps: Sequence[Tensor]) -> Tensor:
        """[B, L, D] token embeddings with the camera tokens of every trajectory spliced in, in order."""
        inputs_embeds = self.thinker.get_input_embeddings()(input_ids)  # [B, L, D]
        camera = self.camera_encoder(list(camera_maps))  # [N_camera_tokens, D]
        return splice_camera_tokens(inputs_embeds, input_ids, camera, self.camera_pad_id)

    def forward(self, input_ids: Tensor | None = None, camera_maps: Sequence[Tensor] | None = None, **kwargs: Any) -> Any:
        return self.thinker(**self.thinker_inputs(input_ids, camera_maps, **kwargs))

    @torch.no_grad()
    def generate(self, input_ids: Tensor | None = None, camera_maps: Sequence[Tensor] | None = None, **kwargs: Any) -> Tensor:
        """Like the thinker's `generate`: returns [B, prompt + new] token ids."""
        return self.thinker.generate(**self.thinker_inputs(input_ids, camera_maps, **kwargs))

    def thinker_inputs(self, input_ids: Tensor | None = None, camera_maps: Sequence[Tensor] | None = None,
                       **kwargs: Any) -> dict[str, Any]:
        """The keyword arguments for the thinker's own forward/generate: `inputs_embeds` with the camera
        tokens spliced in beside `input_ids` when there are camera maps, the batch unchanged otherwise."""
        if camera_maps is None or len(camera_maps) == 0:
            if input_ids is not None and bool((input_ids == self.camera_pad_id).any()):
                raise ValueError("the prompt has <|camera_pad|> tokens but no camera_maps were given")
            return {"input_ids": input_ids, **kwargs}
        if input_ids is None or kwargs.get("inputs_embeds") is not None:
            raise ValueError("camera_maps need input_ids (and no inputs_embeds): the camera tokens are spliced here")
        return {"input_ids": input_ids, "inputs_embeds": self.embed(input_ids, camera_maps), **kwargs}

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        return self.thinker.parameters()


def target_loss(model: nn.Module, labels: Tensor, **batch: Any) -> Tensor:
    """The model's own loss (next-token cross-entropy, mean over the labelled tokens), with the LM
    head applied at the labelled positions only, for every model a stage trains: an
    `InterpreterModel`, a bare thinker (no camera encoder) or a text-only causal LM, each maybe
    LoRA-wrapped. A target is a small part of its batch (a tiny grounding batch: 894 of 7616
    positions; a camera caption: a few tokens of a ~170-token prompt), and on the tiny backbone the
    head's logits at every position, their log-softmax and their gradients cost a quarter of a
    grounding step and a tenth of an SFT step (experiments/condition_grounding, Part 5). No KV
    cache: nothing reads it, and under activation checkpointing (trainer=fsdp) the recomputed
    forward would append a second copy of every key to it."""
    if isinstance(model, InterpreterModel):
        model, batch = model.thinker, model.thinker_inputs(**batch)
    base = model.get_base_model() if isinstance(model, PeftModel) else model
    hidden = base.model(**batch, use_cache=False).last_hidden_state  # [B, L, D]
    targets = labels[:, 1:]  # [B, L-1]: position t predicts token t+1
    keep = targets != IGNORE_INDEX
    logits = base.lm_head(hidden[:, :-1][keep])  # [N_target, V]
    return F.cross_entropy(logits.float(), targets[keep])
