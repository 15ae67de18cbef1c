"""The data contract: one sample, its conditions, the six-part caption and the U/S/Z key elements.

Every other module renders and parses interpreter output through this file, so the format
reward, the SFT targets, evaluation and the synthetic generator can never drift apart.
The six-part order and names follow the paper's Table 8; key elements follow Table 9.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

CONDITION_KINDS = ("identity", "depth", "pose", "camera", "audio")

CAPTION_PARTS = ("dense", "main_object", "background", "movement", "style", "camera")
CAPTION_TITLES = {
    "dense": "Dense caption",
    "main_object": "Main object caption",
    "background": "Background caption",
    "movement": "Movement caption",
    "style": "Style caption",
    "camera": "Camera caption",
}

# Where a reader finds a gold key element (DESIGN.md section 3): stated in the instruction, only in a
# condition file of one kind, inferred from those by the reasoning the instruction asks for, or the
# generator's own draw that no reader could infer. Everything but "free" is inferable.
PROVENANCE_SOURCES = ("text", "derived", "free", *(f"condition:{kind}" for kind in CONDITION_KINDS))
FREE = "free"

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"

REASONING_STEPS = (
    "Interpretation of textual intent",
    "Non-textual understanding",
    "Multimodal alignment",
    "Supplementary detail completion",
)


def render_think(steps: tuple[str, str, str, str] | list[str]) -> str:
    """The `<think>` body: one "Step i (name): text" line per reasoning step (paper section 3.1)."""
    if len(steps) != len(REASONING_STEPS):
        raise ValueError(f"a reasoning trace has {len(REASONING_STEPS)} steps, got {len(steps)}")
    return "\n".join(f"Step {i} ({name.lower()}): {text}" for i, (name, text) in enumerate(zip(REASONING_STEPS, steps), 1))


class SchemaError(ValueError):
    """A sample or an output that breaks the contract; `field` names the offending field."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True)
class Condition:
    """One non-textual input; `path` is relative to the JSONL file that lists it.

    `description` (optional) says in words what the file shows ("a white dog with a red harness"):
    SFT turns rows into describe-the-reference rows with it (`stage.describe_fraction`), the
    grounding a randomly initialised tower needs before it can feed a caption."""

    kind: str
    path: str
    description: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path} | ({"description": self.description} if self.description else {})

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Condition:
        if not isinstance(raw, dict):
            raise SchemaError(f"expected an object, got {type(raw).__name__}", where)
        unknown = set(raw) - {"kind", "path", "description"}
        if unknown:
            raise SchemaError(f"unknown keys {sorted(unknown)}", where)
        kind, path, description = raw.get("kind"), raw.get("path"), raw.get("description")
        if kind not in CONDITION_KINDS:
            raise SchemaError(f"kind {kind!r} is not one of {list(CONDITION_KINDS)}", f"{where}.kind")
        if not isinstance(path, str) or not path.strip():
            raise SchemaError("path must be a non-empty string", f"{where}.path")
        if description is not None and (not isinstance(description, str) or not description.strip()):
            raise SchemaError("description must be a non-empty string when given", f"{where}.description")
        return cls(kind=kind, path=path, description=description)


@dataclass(frozen=True)
class StructuredCaption:
    """The six-part answer, in paper Table 8 order."""

    dense: str
    main_object: str
    background: str
    movement: str
    style: str
    camera: str

    @classmethod
    def from_dict(cls, raw: Any, where: str = "caption") -> StructuredCaption:
        if not isinstance(raw, dict):
            raise SchemaError(f"expected an object, got {type(raw).__name__}", where)
        unknown = set(raw) - set(CAPTION_PARTS)
        if unknown:
            raise SchemaError(f"unknown parts {sorted(unknown)}", where)
        parts = {}
        for name in CAPTION_PARTS:
            text = raw.get(name)
            if not isinstance(text, str) or not text.strip():
                raise SchemaError("must be a non-empty string", f"{where}.{name}")
            _check_single_line(text, f"{where}.{name}")
            parts[name] = text.strip()
        return cls(**parts)

    def render(self) -> str:
        """`1. Dense caption: … 6. Camera caption: …`, one part per line."""
        return "\n".join(
            f"{i}. {CAPTION_TITLES[name]}: {getattr(self, name)}"
            for i, name in enumerate(CAPTION_PARTS, start=1)
        )

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class KeyObject:
    name: str
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyElements:
    """One of U, S or Z (paper Table 9): what a caption must mention to earn that reward term."""

    objects: tuple[KeyObject, ...] = ()
    actions: tuple[str, ...] = ()
    camera: tuple[str, ...] = ()
    style: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> KeyElements:
        if not isinstance(raw, dict):
            raise SchemaError(f"expected an object, got {type(raw).__name__}", where)
        unknown = set(raw) - {"objects", "actions", "camera", "style"}
        if unknown:
            raise SchemaError(f"unknown keys {sorted(unknown)}", where)
        objects = []
        for i, obj in enumerate(_list(raw.get("objects", []), f"{where}.objects")):
            at = f"{where}.objects[{i}]"
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
                raise SchemaError("needs a non-empty 'name'", at)
            attributes = _strings(obj.get("attributes", []), f"{at}.attributes")
            objects.append(KeyObject(obj["name"], attributes))
        return cls(
            objects=tuple(objects),
            actions=_strings(raw.get("actions", []), f"{where}.actions"),
            camera=_strings(raw.get("camera", []), f"{where}.camera"),
            style=_strings(raw.get("style", []), f"{where}.style"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": [{"name": o.name, "attributes": list(o.attributes)} for o in self.objects],
            "actions": list(self.actions),
            "camera": list(self.camera),
            "style": list(self.style),
        }

    def elements(self) -> list[str]:
        """The flat list a judge checks one by one: object names, each attribute, actions, camera, style."""
        flat = []
        for obj in self.objects:
            flat.append(obj.name)
            flat.extend(attribute_key(obj.name, attribute) for attribute in obj.attributes)
        return flat + list(self.actions) + list(self.camera) + list(self.style)


@dataclass(frozen=True)
class SampleKeyElements:
    """U (user), S (supplementary, from non-textual conditions), Z (imaginative).

    `provenance`, when present, maps every element of U ∪ S ∪ Z (as `KeyElements.elements()` writes
    it: "dog", "dog: golden", "pan left") to one of `PROVENANCE_SOURCES`. It is optional: real data
    without it is scored as the paper does; with it evaluation also scores the inferable elements.
    """

    user: KeyElements
    supplementary: KeyElements
    imaginative: KeyElements
    provenance: dict[str, str] | None = field(default=None, hash=False)

    SETS = ("user", "supplementary", "imaginative")

    @classmethod
    def from_dict(cls, raw: Any, where: str = "key_elements") -> SampleKeyElements:
        if not isinstance(raw, dict):
            raise SchemaError(f"expected an object, got {type(raw).__name__}", where)
        unknown, missing = set(raw) - {*cls.SETS, "provenance"}, set(cls.SETS) - set(raw)
        if unknown or missing:
            raise SchemaError(f"needs exactly {list(cls.SETS)} (and optionally 'provenance'); "
                              f"unknown {sorted(unknown)}, missing {sorted(missing)}", where)
        sets = [KeyElements.from_dict(raw[n], f"{where}.{n}") for n in cls.SETS]
        provenance = raw.get("provenance")
        if provenance is not None:
            provenance = _provenance(provenance, element_keys(*sets), f"{where}.provenance")
        return cls(*sets, provenance=provenance)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {n: getattr(self, n).to_dict() for n in self.SETS}
        if self.provenance is not None:
            out["provenance"] = dict(self.provenance)
        return out

    def element_keys(self) -> list[str]:
        return element_keys(self.user, self.supplementary, self.imaginative)


def attribute_key(owner: str, attribute: str) -> str:
    """How an attribute is named among the elements: "truck: silver"."""
    return f"{owner}: {attribute}"


def element_keys(*sets: KeyElements) -> list[str]:
    """Every element of the sets once, in order: the keys of a provenance map."""
    return list(dict.fromkeys(key for elements in sets for key in elements.elements()))


def _provenance(raw: Any, keys: list[str], where: str) -> dict[str, str]:
    """A complete map: each element exactly once, each value a known source; every fault named at once."""
    if not isinstance(raw, dict):
        raise SchemaError(f"expected an object mapping each key element to its source, got {type(raw).__name__}", where)
    problems = [f"{key!r}: {value!r} is not one of {list(PROVENANCE_SOURCES)}"
                for key, value in raw.items() if value not in PROVENANCE_SOURCES]
    unknown = [key for key in raw if key not in set(keys)]
    missing = [key for key in keys if key not in raw]
    if unknown:
        problems.append(f"names no key element: {unknown}")
    if missing:
        problems.append(f"has no source for {missing}")
    if problems:
        raise SchemaError("; ".join(problems), where)
    return {key: raw[key] for key in keys}


@dataclass(frozen=True)
class Sample:
    """One JSONL row. `think`, `caption` and `key_elements` are optional at inference."""

    id: str
    instruction: str
    conditions: tuple[Condition, ...] = ()
    think: str | None = None
    caption: StructuredCaption | None = None
    key_elements: SampleKeyElements | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Any) -> Sample:
        if not isinstance(raw, dict):
            raise SchemaError(f"a row must be a JSON object, got {type(raw).__name__}")
        unknown = set(raw) - {"id", "instruction", "conditions", "think", "caption", "key_elements", "meta"}
        if unknown:
            raise SchemaError(f"unknown keys {sorted(unknown)}", "row")
        if not isinstance(raw.get("id"), str) or not raw["id"].strip():
            raise SchemaError("must be a non-empty string", "id")
        instruction = raw.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise SchemaError("must be a non-empty string", "instruction")
        conditions = tuple(
            Condition.from_dict(c, f"conditions[{i}]")
            for i, c in enumerate(_list(raw.get("conditions", []), "conditions"))
        )
        think = raw.get("think")
        if think is not None:
            if not isinstance(think, str) or not think.strip():
                raise SchemaError("must be a non-empty string when present", "think")
            if THINK_OPEN in think or THINK_CLOSE in think or ANSWER_OPEN in think:
                raise SchemaError("must not contain the <think>/<answer> tags themselves", "think")
        caption = raw.get("caption")
        key_elements = raw.get("key_elements")
        meta = raw.get("meta", {})
        if not isinstance(meta, dict):
            raise SchemaError("must be an object", "meta")
        key_elements = SampleKeyElements.from_dict(key_elements) if key_elements is not None else None
        _check_condition_sources(key_elements, conditions)
        return cls(
            id=raw["id"],
            instruction=instruction.strip(),
            conditions=conditions,
            think=think.strip() if think else None,
            caption=StructuredCaption.from_dict(caption) if caption is not None else None,
            key_elements=key_elements,
            meta=meta,
        )

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "instruction": self.instruction,
            "conditions": [c.to_dict() for c in self.conditions],
        }
        if self.think is not None:
            row["think"] = self.think
        if self.caption is not None:
            row["caption"] = self.caption.to_dict()
        if self.key_elements is not None:
            row["key_elements"] = self.key_elements.to_dict()
        if self.meta:
            row["meta"] = self.meta
        return row

    def target(self, reasoning: bool = True) -> str:
        """The assistant text SFT learns: the reasoning trace, then the six-part answer; without
        `reasoning`, the answer alone (the no-CoT ablation's base)."""
        if reasoning and self.think is None:
            raise SchemaError(f"sample {self.id} has no think trace, which SFT needs", "think")
        if self.caption is None:
            raise SchemaError(f"sample {self.id} has no caption, which SFT needs", "caption")
        return render_output(self.think, self.caption) if reasoning else render_answer(self.caption)


def render_answer(caption: StructuredCaption) -> str:
    return f"{ANSWER_OPEN}\n{caption.render()}\n{ANSWER_CLOSE}"


def render_output(think: str, caption: StructuredCaption) -> str:
    return f"{THINK_OPEN}\n{think}\n{THINK_CLOSE}\n{render_answer(caption)}"


@dataclass(frozen=True)
class ParsedOutput:
    """What the strict parser recovered; `think_ok`/`answer_ok` feed the format reward (eq. 2)."""

    think: str | None
    caption: StructuredCaption | None
    errors: tuple[str, ...]

    @property
    def think_ok(self) -> bool:
        return self.think is not None

    @property
    def answer_ok(self) -> bool:
        return self.caption is not None

    @property
    def ok(self) -> bool:
        return self.think_ok and self.answer_ok


_THINK_RE = re.compile(r"^\s*<think>(.*?)</think>", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>\s*$", re.DOTALL)
_PART_RE = re.compile(r"^\s*(\d)\.\s*([A-Za-z ]+?):\s*(.*)$")
# "2. Main object caption:" wherever it stands: at a line start or after a space, as the paper's
# Table 8 prints the six parts on one line. Only the six titles count, so a number inside a part's
# text ("Row 2. Background trees") never opens a part.
PART_HEADING = re.compile(
    r"(?<!\S)\d\.[ \t]*(?:" + "|".join(re.escape(CAPTION_TITLES[p]) for p in CAPTION_PARTS) + r")[ \t]*:", re.IGNORECASE
)


def parse_output(text: str) -> ParsedOutput:
    """Strict parse of `<think>…</think><answer>…</answer>`.

    The think block must open the text and be non-empty; the answer must close it and hold exactly
    the six numbered parts in Table 8 order, non-empty, one per line (as `render` writes them) or on
    one line (as the paper's Table 8 prints them), or any mix of the two. Anything between
    the two blocks other than whitespace, or anything after </answer>, fails the parse.
    """
    errors = []
    think = None
    think_match = _THINK_RE.match(text)
    if think_match is None:
        errors.append("no leading <think>…</think> block")
    elif not think_match.group(1).strip():
        errors.append("empty <think> block")
    elif ANSWER_OPEN in think_match.group(1) or THINK_OPEN in think_match.group(1):
        errors.append("tags nested inside <think>")
    else:
        think = think_match.group(1).strip()

    caption = None
    answer_match = _ANSWER_RE.search(text)
    if answer_match is None:
        errors.append("no trailing <answer>…</answer> block")
    elif think_match is not None and text[think_match.end() : answer_match.start()].strip():
        errors.append("text between </think> and <answer>")
    else:
        caption, answer_errors = _parse_caption(answer_match.group(1))
        errors.extend(answer_errors)
    return ParsedOutput(think=think, caption=caption, errors=tuple(errors))


def _parse_caption(body: str) -> tuple[StructuredCaption | None, list[str]]:
    parts: dict[str, list[str]] = {}
    current = None
    one_part_per_line = PART_HEADING.sub(lambda heading: "\n" + heading.group(0), body)
    for line in one_part_per_line.strip().splitlines():
        match = _PART_RE.match(line)
        if match is not None:
            number, title, rest = int(match.group(1)), match.group(2).strip(), match.group(3)
            if not 1 <= number <= len(CAPTION_PARTS):
                return None, [f"answer part number {number} out of range"]
            expected = CAPTION_PARTS[number - 1]
            if title.lower() != CAPTION_TITLES[expected].lower():
                return None, [f"answer part {number} is titled {title!r}, expected {CAPTION_TITLES[expected]!r}"]
            if expected in parts or len(parts) != number - 1:
                return None, [f"answer part {number} out of order or repeated"]
            current = expected
            parts[current] = [rest]
        elif current is None:
            if line.strip():
                return None, ["text before answer part 1"]
        else:
            parts[current].append(line)
    missing = [CAPTION_TITLES[n] for n in CAPTION_PARTS if n not in parts]
    if missing:
        return None, [f"answer misses {missing}"]
    texts = {name: " ".join(" ".join(lines).split()) for name, lines in parts.items()}
    empty = [CAPTION_TITLES[n] for n, t in texts.items() if not t]
    if empty:
        return None, [f"answer parts empty: {empty}"]
    return StructuredCaption(**texts), []


def _check_condition_sources(key_elements: SampleKeyElements | None, conditions: tuple[Condition, ...]) -> None:
    """An element found "only in a condition file" needs a file of that kind in the row."""
    if key_elements is None or key_elements.provenance is None:
        return
    kinds = {c.kind for c in conditions}
    absent = {key: source for key, source in key_elements.provenance.items()
              if source.startswith("condition:") and source.split(":", 1)[1] not in kinds}
    if absent:
        raise SchemaError(f"sources name condition kinds the row does not carry: {absent}", "key_elements.provenance")


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise SchemaError(f"expected a list, got {type(value).__name__}", where)
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = _list(value, where)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise SchemaError("must be a non-empty string", f"{where}[{i}]")
    return tuple(items)


def _check_single_line(text: str, where: str) -> None:
    if "\n" in text.strip():
        raise SchemaError("must be a single line (parts are rendered one per line)", where)
