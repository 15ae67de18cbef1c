"""Turns (instruction, conditions, target) triples into the tensors a Qwen2.5-Omni thinker reads.

One processor serves the SFT collator, GRPO rollouts and `reade.interpret`, so a prompt is laid out,
padded (always on the left) and masked the same way wherever it is built. Identity images go through
Qwen2-VL's PIL image processor, depth/pose frame arrays through `media.video_patches` (same patch
layout, no torchvision), audio through Whisper's feature extractor, as the thinker's towers expect.
Camera trajectories become packed Plücker maps for the camera encoder (`reade.models.camera_input`)
when the processor belongs to a backbone that has one; without one they are refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase, WhisperFeatureExtractor
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.utils import cached_file

from reade.data.conditions.camera import CameraTrajectory
from reade.models.camera_encoder import CONFIG_FILE as CAMERA_CONFIG_FILE
from reade.models.camera_encoder import CameraEncoderConfig
from reade.models.camera_input import INPUT_FILE as CAMERA_INPUT_FILE
from reade.models.camera_input import CameraInputSettings, camera_maps
from reade.models.media import resample, video_patches
from reade.models.prompt import SYSTEM_PROMPT, ConditionBlock, chat_prompt, user_content
from reade.models.settings import SETTINGS_FILE, ProcessorSettings
from reade.models.tokenizer import (
    CAMERA_END,
    CAMERA_PAD,
    CAMERA_START,
    IM_END,
    PAD_TOKEN,
    load_tokenizer,
    never_generated_ids,
    placeholder_ids,
    reserved_problem,
    reserved_tokens,
    token_id,
)

IGNORE_INDEX = -100
# Which tower input a condition kind becomes: depth and pose sequences are videos to the thinker;
# camera trajectories go to the camera encoder beside it.
MODALITY = {"identity": "image", "depth": "video", "pose": "video", "audio": "audio", "camera": "camera"}
CAMERA_TOKENS = (CAMERA_START, CAMERA_PAD, CAMERA_END)

__all__ = ["IGNORE_INDEX", "SYSTEM_PROMPT", "CameraSupport", "EncodedCondition", "InterpreterProcessor"]


class EncodedCondition(NamedTuple):
    """A condition laid out once (`InterpreterProcessor.encode_condition`): its placeholder count and
    what the stacking step needs. `__call__` takes it in place of a payload, so a collator that
    meets the same file every epoch can encode it once (`reade.data.encoded_conditions`)."""

    num_tokens: int
    item: object


@dataclass(frozen=True)
class CameraSupport:
    """What the processor needs to lay out camera conditions: the encoder's sizes (for the token
    count) and the frame budget / render size of its input maps."""

    encoder: CameraEncoderConfig
    input: CameraInputSettings

    def __post_init__(self):
        self.input.check(self.encoder)

    def save(self, folder: str | Path) -> None:
        self.encoder.save(Path(folder) / CAMERA_CONFIG_FILE)
        self.input.save(folder)

    @classmethod
    def find(cls, name_or_path: str) -> CameraSupport | None:
        """The camera support saved in a checkpoint folder (or hub repo), None when it has no camera encoder."""
        files = [
            cached_file(name_or_path, name, _raise_exceptions_for_missing_entries=False)
            for name in (CAMERA_CONFIG_FILE, CAMERA_INPUT_FILE)
        ]
        if files[0] is None:
            return None
        if files[1] is None:
            raise FileNotFoundError(f"{name_or_path} has {CAMERA_CONFIG_FILE} but no {CAMERA_INPUT_FILE}")
        return cls(CameraEncoderConfig.load(files[0]), CameraInputSettings.load(files[1]))


class InterpreterProcessor:
    """Prompt layout + per-modality preprocessing + left padding; see `__call__` for the batch contract."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, settings: ProcessorSettings, camera: CameraSupport | None = None):
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        self.settings = settings
        self.camera = camera
        if camera is not None:
            if settings.text_only:
                raise ValueError("a text-only processor cannot take camera conditions")
            missing = [t for t in CAMERA_TOKENS if len(tokenizer.encode(t, add_special_tokens=False)) != 1]
            if missing:
                # A real Qwen2.5-Omni tokenizer lacks them: the new ids land in the embedding matrix's spare
                # rows (load_backbone checks), and the tokenizer (shared with `with_camera`'s source) keeps them.
                tokenizer.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
            self.camera_pad_id = token_id(tokenizer, CAMERA_PAD)
        self.pad_token_id = token_id(tokenizer, PAD_TOKEN)
        self.eos_token_id = token_id(tokenizer, IM_END)
        self.suppressed_ids = never_generated_ids(tokenizer)  # what `generate` must never sample
        self.reserved_tokens = reserved_tokens(tokenizer)  # what user text may not spell
        if settings.text_only:
            return
        self.placeholder_ids = placeholder_ids(tokenizer)
        self.image_processor = Qwen2VLImageProcessorPil(
            size={"shortest_edge": settings.image_min_pixels, "longest_edge": settings.image_max_pixels},
            patch_size=settings.patch_size,
            temporal_patch_size=settings.temporal_patch_size,
            merge_size=settings.merge_size,
            image_mean=list(settings.image_mean),
            image_std=list(settings.image_std),
        )
        self.feature_extractor = WhisperFeatureExtractor(
            feature_size=settings.num_mel_bins,
            sampling_rate=settings.sampling_rate,
            hop_length=settings.hop_length,
            chunk_length=settings.audio_chunk_seconds,
            n_fft=settings.n_fft,
        )

    def with_camera(self, camera: CameraSupport) -> InterpreterProcessor:
        """This processor, able to lay out camera conditions for an encoder of `camera`'s sizes."""
        return type(self)(self.tokenizer, self.settings, camera)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, text_only: bool = False) -> InterpreterProcessor:
        """A folder we saved (tiny or trained, with camera support when it has a camera encoder), a
        Qwen2.5-Omni folder or hub id, or (text_only) any chat LM."""
        name_or_path = str(name_or_path)
        tokenizer = load_tokenizer(name_or_path)
        ours = cached_file(name_or_path, SETTINGS_FILE, _raise_exceptions_for_missing_entries=False)
        if ours is not None:
            settings = ProcessorSettings.load(ours)
        elif text_only:
            settings = ProcessorSettings(text_only=True)
        else:
            qwen = cached_file(name_or_path, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False)
            if qwen is None:
                raise FileNotFoundError(
                    f"{name_or_path} has neither {SETTINGS_FILE} nor a Qwen2.5-Omni preprocessor_config.json; "
                    "pass text_only=True for a text-only model"
                )
            settings = ProcessorSettings.from_qwen_preprocessor(json.loads(Path(qwen).read_text()))
        camera = None if settings.text_only else CameraSupport.find(name_or_path)
        return cls(tokenizer, settings, camera)

    def save_pretrained(self, folder: str | Path) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(str(folder))
        self.settings.save(folder)
        if self.camera is not None:
            self.camera.save(folder)

    def __call__(
        self,
        instructions: list[str],
        conditions: list[list[tuple[str, object]]],
        targets: list[str] | None = None,
        max_length: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Batch of prompts (+ assistant targets) -> model inputs, left-padded.

        Per sample, conditions are (kind, payload): identity uint8 [H, W, 3]; depth/pose uint8
        [T, H, W, 3] frames at `settings.video_fps`; audio (float waveform, sample_rate); camera a
        `CameraTrajectory`; or any of them as an `EncodedCondition` this processor made. With `targets`, `labels` hold the target and its closing <|im_end|> and
        -100 everywhere else. Only the keys of modalities present in the batch are returned; camera
        trajectories come as `camera_maps`, a list of packed Plücker maps `[T_i, 96, h, w]` in prompt
        order, which the interpreter wrapper (`reade.models.interpreter`) encodes and splices.
        """
        if len(conditions) != len(instructions) or (targets is not None and len(targets) != len(instructions)):
            raise ValueError("instructions, conditions and targets must have one entry per sample")
        encoded: dict[str, list] = {"image": [], "video": [], "audio": [], "camera": []}
        sequences = []
        for index, (instruction, sample_conditions) in enumerate(zip(instructions, conditions)):
            try:
                prompt, target, items = self._sequence(instruction, sample_conditions, None if targets is None else targets[index])
            except ValueError as error:
                raise ValueError(f"sample {index}: {error}") from None
            if max_length is not None and len(prompt) + len(target) > max_length:
                raise ValueError(
                    f"sample {index}: {len(prompt)} prompt + {len(target)} target tokens exceed max_length {max_length}"
                )
            for modality, item in items:
                encoded[modality].append(item)
            sequences.append((prompt, target))
        batch = self._pad(sequences, with_labels=targets is not None)
        batch.update(self._stack_images(encoded["image"]))
        batch.update(self._stack_videos(encoded["video"]))
        batch.update(self._stack_audios(encoded["audio"]))
        if encoded["camera"]:
            batch["camera_maps"] = encoded["camera"]  # list of [T_i, 96, h, w]
        return batch

    def lengths(self, instruction: str, conditions: list[tuple[str, object]], target: str | None = None) -> tuple[int, int]:
        """(prompt, target) token counts of one sample laid out as `__call__` lays it out, which is
        what `max_length` bounds, without stacking its media; a ValueError for a sample `__call__`
        would refuse."""
        prompt, target_ids, _ = self._sequence(instruction, conditions, target)
        return len(prompt), len(target_ids)

    def unreadable(self, kind: str) -> str | None:
        """Why this processor cannot lay out a condition of `kind`, or None when it can."""
        if self.settings.text_only:
            return f"this checkpoint is text-only (causal_lm) and cannot read a {kind!r} condition"
        if kind == "camera" and self.camera is None:
            return ("this checkpoint has no camera encoder to read camera trajectories: use one trained with "
                    "stage=camera_pretrain (or SFT/GRPO after it), or leave the camera condition out")
        return None

    def _sequence(self, instruction: str, conditions: list[tuple[str, object]],
                  target: str | None) -> tuple[list[int], list[int], list[tuple[str, object]]]:
        """Token ids of one sample's prompt and of its target (closed by <|im_end|>), and its encoded
        media as (modality, item). User text that spells a control token is refused here, the one
        place where it becomes ids (`reserved_problem`)."""
        for name, text in (("instruction", instruction), ("target", target or "")):
            problem = reserved_problem(text, self.reserved_tokens)
            if problem is not None:
                raise ValueError(f"its {name} {problem}")
        blocks, items = [], []
        for kind, payload in conditions:
            num_tokens, item = payload if isinstance(payload, EncodedCondition) else self.encode_condition(kind, payload)
            items.append((MODALITY[kind], item))
            blocks.append(ConditionBlock(kind, num_tokens))
        if not blocks and not instruction.strip():
            raise ValueError("empty instruction and no conditions")
        prompt = self.tokenizer.encode(chat_prompt(user_content(blocks, instruction.strip()), self.settings.system_prompt),
                                       add_special_tokens=False)
        target_ids = [] if target is None else self.tokenizer.encode(target + IM_END, add_special_tokens=False)
        return prompt, target_ids, items

    def decode(self, token_ids: torch.Tensor) -> list[str]:
        """Generated ids [B, L] -> texts; special tokens dropped, <think>/<answer> kept."""
        texts = self.tokenizer.batch_decode(token_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return [text.strip() for text in texts]

    def encode_condition(self, kind: str, payload: object) -> EncodedCondition:
        """One condition's placeholder count and what the stacking step needs."""
        if kind not in MODALITY:
            raise ValueError(f"unknown condition kind {kind!r}, expected one of {list(MODALITY)}")
        if self.settings.text_only:
            raise ValueError(
                f"this backbone is text-only (causal_lm) and cannot read a {kind!r} condition; "
                "use condition=text or an omni_thinker backbone"
            )
        if kind == "camera":
            return EncodedCondition(*self._encode_camera(payload))
        if kind == "identity":
            return EncodedCondition(*self._encode_image(np.asarray(payload)))
        if kind == "audio":
            return EncodedCondition(*self._encode_audio(*payload))
        return EncodedCondition(*self._encode_video(np.asarray(payload)))

    def _encode_camera(self, trajectory: object) -> tuple[int, torch.Tensor]:
        if self.camera is None:
            raise ValueError(
                "camera conditions are read by the camera encoder, a separate component this "
                "backbone does not have; train one with stage=camera_pretrain or load a checkpoint folder "
                "that holds camera_encoder.safetensors"
            )
        if not isinstance(trajectory, CameraTrajectory):
            raise ValueError(f"a camera condition must be a CameraTrajectory, got {type(trajectory).__name__}")
        maps = camera_maps(trajectory, self.camera.input, self.camera.encoder.pack_factor)  # [T', 96, h, w]
        return self.camera.input.num_tokens(self.camera.encoder, len(trajectory.w2c)), maps

    def _encode_image(self, image: np.ndarray) -> tuple[int, tuple[np.ndarray, np.ndarray]]:
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"identity image must be uint8 [H, W, 3], got {image.dtype} {list(image.shape)}")
        encoded = self.image_processor(images=[image], return_tensors="np")
        grid = encoded["image_grid_thw"][0]  # [3]
        return int(np.prod(grid)) // self.settings.merge_size**2, (encoded["pixel_values"], grid)

    def _encode_video(self, frames: np.ndarray) -> tuple[int, tuple[np.ndarray, tuple[int, int, int], float]]:
        s = self.settings
        patches, grid, second_per_grid = video_patches(
            frames,
            patch_size=s.patch_size,
            temporal_patch_size=s.temporal_patch_size,
            merge_size=s.merge_size,
            min_pixels=s.video_min_pixels,
            max_pixels=s.video_max_pixels,
            max_frames=s.max_frames,
            fps=s.video_fps,
            mean=s.image_mean,
            std=s.image_std,
        )
        return int(np.prod(grid)) // s.merge_size**2, (patches, grid, second_per_grid)

    def _encode_audio(self, waveform: np.ndarray, rate: int) -> tuple[int, np.ndarray]:
        """Resampled, cut to `max_audio_seconds` and to whole hops.

        Whisper's frame mask counts a trailing partial hop that its spectrogram drops, so the
        placeholder count would disagree with the features without the cut.
        """
        s = self.settings
        waveform = resample(waveform, int(rate), s.sampling_rate)[: int(s.max_audio_seconds * s.sampling_rate)]
        frames = len(waveform) // s.hop_length
        num_tokens = ((frames - 1) // 2 + 1 - 2) // 2 + 1
        if num_tokens < 1:
            raise ValueError(f"audio too short ({frames} mel frames) to give one audio token")
        return num_tokens, waveform[: frames * s.hop_length]

    def _pad(self, sequences: list[tuple[list[int], list[int]]], with_labels: bool) -> dict[str, torch.Tensor]:
        length = max(len(prompt) + len(target) for prompt, target in sequences)
        input_ids = torch.full((len(sequences), length), self.pad_token_id, dtype=torch.long)  # [B, T]
        attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)  # [B, T]
        labels = torch.full((len(sequences), length), IGNORE_INDEX, dtype=torch.long)  # [B, T]
        for row, (prompt, target) in enumerate(sequences):
            ids = prompt + target
            input_ids[row, length - len(ids) :] = torch.tensor(ids)
            attention_mask[row, length - len(ids) :] = 1
            if target:
                labels[row, length - len(target) :] = torch.tensor(target)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if with_labels:
            batch["labels"] = labels
        return batch

    def _stack_images(self, images) -> dict[str, torch.Tensor]:
        if not images:
            return {}
        return {
            "pixel_values": torch.from_numpy(np.concatenate([p for p, _ in images])),  # [N_patches, 3*tp*p*p]
            "image_grid_thw": torch.from_numpy(np.stack([g for _, g in images])).long(),  # [N_images, 3]
        }

    def _stack_videos(self, videos) -> dict[str, torch.Tensor]:
        if not videos:
            return {}
        return {
            "pixel_values_videos": torch.from_numpy(np.concatenate([p for p, _, _ in videos])),  # [N_patches, D]
            "video_grid_thw": torch.tensor([g for _, g, _ in videos], dtype=torch.long),  # [N_videos, 3]
            "video_second_per_grid": torch.tensor([s for _, _, s in videos], dtype=torch.float32),  # [N_videos]
        }

    def _stack_audios(self, audios) -> dict[str, torch.Tensor]:
        if not audios:
            return {}
        features = self.feature_extractor(
            audios,
            sampling_rate=self.settings.sampling_rate,
            padding="longest",
            truncation=False,
            return_attention_mask=True,
            return_tensors="pt",
        )
        return {
            "input_features": features["input_features"],  # [N_audios, mel, L]
            "feature_attention_mask": features["attention_mask"].long(),  # [N_audios, L]
        }
