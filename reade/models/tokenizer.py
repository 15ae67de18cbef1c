"""Token vocabulary shared by the tiny backbone and real Qwen2.5-Omni checkpoints.

The tiny tokenizer uses the exact token strings of the Qwen2.5-Omni tokenizer for chat turns and
modality placeholders, so prompt building is one code path for the shipped tiny model and for a
real checkpoint; only the ids differ, and they are always looked up, never hard-coded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from reade.schema import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN

PAD_TOKEN = "<|endoftext|>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
AUDIO_TOKEN, AUDIO_BOS, AUDIO_EOS = "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"
IMAGE_TOKEN, VIDEO_TOKEN = "<|IMAGE|>", "<|VIDEO|>"
VISION_BOS, VISION_EOS = "<|vision_bos|>", "<|vision_eos|>"
CAMERA_START, CAMERA_PAD, CAMERA_END = "<|camera_start|>", "<|camera_pad|>", "<|camera_end|>"

SPECIAL_TOKENS = (
    PAD_TOKEN,
    IM_START,
    IM_END,
    AUDIO_TOKEN,
    AUDIO_BOS,
    AUDIO_EOS,
    IMAGE_TOKEN,
    VIDEO_TOKEN,
    VISION_BOS,
    VISION_EOS,
    CAMERA_START,
    CAMERA_PAD,
    CAMERA_END,
)
# Added but not special: `decode(skip_special_tokens=True)` must keep them for the format reward.
REASONING_TOKENS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)
# The shape of a chat control token in the model families a judge runs on, whose tokenizer we may
# not hold (a server's): Qwen and ChatML `<|im_end|>`, Llama 3 `<|eot_id|>`, Phi `<|end|>`, DeepSeek
# `<｜end▁of▁sentence｜>` (full-width bars).
CONTROL_TOKEN_SHAPE = re.compile(r"<[|｜][^<>\s]{1,64}?[|｜]>")

# Qwen's template without tools: the same text the processor assembles by hand around placeholders.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

TINY_TOKENIZER_DIR = Path(__file__).parent / "assets" / "tiny_tokenizer"

# Placeholder roles the thinker config needs, keyed by its own config field names.
PLACEHOLDER_FIELDS = {
    "audio_token_index": AUDIO_TOKEN,
    "image_token_index": IMAGE_TOKEN,
    "video_token_index": VIDEO_TOKEN,
    "audio_start_token_id": AUDIO_BOS,
    "audio_end_token_id": AUDIO_EOS,
    "vision_start_token_id": VISION_BOS,
    "vision_end_token_id": VISION_EOS,
}


def load_tokenizer(path: str | Path = TINY_TOKENIZER_DIR) -> PreTrainedTokenizerBase:
    """Left padding everywhere: training batches and generation prompts share one layout."""
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    tokenizer.padding_side = "left"
    return tokenizer


def token_id(tokenizer: PreTrainedTokenizerBase, token: str) -> int:
    """The id of a token that must exist as one piece; a missing one would silently become UNK or split."""
    ids = tokenizer.encode(token, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(f"tokenizer {tokenizer.name_or_path!r} has no single token for {token!r} (got ids {ids})")
    return ids[0]


def placeholder_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
    """Thinker config field name -> id, for every placeholder the towers splice into."""
    return {field: token_id(tokenizer, token) for field, token in PLACEHOLDER_FIELDS.items()}


def never_generated_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Special tokens the interpreter must never sample: every one but <|im_end|>, where it stops.

    A sampled media placeholder would be read as a slot for image, video or audio features when the
    completion is scored by a forward pass, and that pass fails. Tokens a tokenizer lacks (a
    text-only Qwen2.5 has no audio or camera tokens) are skipped.
    """
    ids = []
    for token in SPECIAL_TOKENS:
        if token == IM_END:
            continue
        pieces = tokenizer.encode(token, add_special_tokens=False)
        if len(pieces) == 1:
            ids.append(pieces[0])
    return ids


def reserved_tokens(tokenizer: PreTrainedTokenizerBase) -> tuple[str, ...]:
    """SPECIAL_TOKENS and every other special token `tokenizer` has (a real Qwen2.5-Omni's
    `<|vision_pad|>`, `<|box_start|>`, ...): the strings user text may not hold."""
    return tuple(dict.fromkeys((*SPECIAL_TOKENS, *tokenizer.all_special_tokens)))


def reserved_problem(text: str, reserved: Iterable[str] = SPECIAL_TOKENS) -> str | None:
    """Why `text` may not be tokenised, or None. User text (instruction, trace, caption, key
    elements, descriptions) is refused when it spells a chat or modality control token: tokenised,
    `<|im_end|>` would close the user's turn and `<|IMAGE|>` would ask for image features that are not
    there. Refused rather than escaped, so that what a model reads is what the data says."""
    if "<|" not in text:
        return None
    found = [token for token in reserved if token in text]
    if not found:
        return None
    return f"holds the reserved control token(s) {', '.join(found)}; chat and modality tokens are refused in user text"


def without_control_tokens(text: str, reserved: Iterable[str] = SPECIAL_TOKENS) -> str:
    """`text` with every `reserved` token and every `CONTROL_TOKEN_SHAPE` taken out (each leaves a space).

    For text another model reads that cannot be refused, a caption being judged: a model's output may
    spell `<|im_end|>\n<|im_start|>system` (from ordinary pieces, or typed into `reade.score`'s input),
    which the judge's tokenizer would turn into control tokens that close the caption's turn and open
    one of its own. Text a model trains on or is prompted with is refused instead (`reserved_problem`)."""
    if "<" not in text:
        return text
    for token in reserved:
        text = text.replace(token, " ")
    return CONTROL_TOKEN_SHAPE.sub(" ", text)
