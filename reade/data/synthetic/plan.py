"""One synthetic sample as a plan: everything but the condition files, cheap enough to build by the
thousand for tokenizer training, and the single source the file writer renders from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reade.data.synthetic.captions import gold_caption
from reade.data.synthetic.instructions import Built, build
from reade.data.synthetic.scene import Fact, Scene, Subject
from reade.data.synthetic.think import condition_descriptions, think_trace
from reade.data.synthetic.vocab import AMBIENCES, HELD_OUT_PAIRS
from reade.schema import FREE, Condition, KeyElements, KeyObject, Sample, SampleKeyElements, attribute_key

SPLITS = ("train", "val", "test")
# Separate random streams per sample: one decides the scene and texts, the other the rendering noise,
# so text-only consumers never have to draw the rendering numbers.
TEXT_STREAM, RENDER_STREAM = 0, 1


@dataclass(frozen=True)
class Plan:
    id: str
    split: str
    index: int
    seed: int
    kind: str
    built: Built

    def render_rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, SPLITS.index(self.split), self.index, RENDER_STREAM])

    def condition_paths(self) -> list[Condition]:
        """Paths relative to the JSONL file, each with what it shows; identity has one image per
        subject the reference shows."""
        folder = f"assets/{self.id}"
        files = {"depth": "depth.npz", "pose": "pose.json", "camera": "camera.txt", "audio": "audio.wav"}
        paths = []
        for kind in self.built.conditions:
            shown = condition_descriptions(kind, self.built.source, self.built.references)
            if kind == "identity":
                paths.extend(Condition("identity", f"{folder}/id{i}.png", text) for i, text in enumerate(shown))
            else:
                paths.append(Condition(kind, f"{folder}/{files[kind]}", shown[0]))
        return paths

    def sample(self) -> Sample:
        built = self.built
        facts = list(dict.fromkeys(built.target.facts()))
        present = set(facts)
        user = set(built.stated) & present
        carriers = _carriers(built.source, built.references, built.conditions)
        supplied = set(carriers) & present
        imagined = [f for f in facts if f not in user and f not in supplied]
        invented = [f for f in imagined if f not in built.derived]  # step 1 already reasons to the derived ones
        think = think_trace(built.intent, built.notes, built.target, built.source, built.references, built.conditions,
                            supplied, invented)
        return Sample(
            id=self.id,
            instruction=built.text,
            conditions=tuple(self.condition_paths()),
            think=think,
            caption=gold_caption(built.target),
            key_elements=SampleKeyElements(
                user=_key_elements(facts, user),
                supplementary=_key_elements(facts, supplied),
                imaginative=_key_elements(facts, set(imagined)),
                provenance={element_key(f): _source(f, built, carriers) for f in facts},
            ),
            meta=self._meta(),
        )

    def _meta(self) -> dict[str, Any]:
        target, source = self.built.target, self.built.source
        meta: dict[str, Any] = {
            "instruction_kind": self.kind,
            "split": self.split,
            **self.built.detail,
            "held_out_pair": (target.main.noun, target.background) in HELD_OUT_PAIRS,
            "scene": target.to_meta(),
        }
        changed = {k: v for k, v in source.to_meta().items() if v != meta["scene"][k]}
        if changed:
            meta["source_changes"] = changed
        return meta


def plan_sample(seed: int, split: str, index: int) -> Plan:
    rng = np.random.default_rng([seed, SPLITS.index(split), index, TEXT_STREAM])
    kind, built = build(rng, split)
    return Plan(id=f"{split}-{index:06d}", split=split, index=index, seed=seed, kind=kind, built=built)


def _carriers(source: Scene, references: tuple[Subject, ...], conditions: tuple[str, ...]) -> dict[Fact, str]:
    """The facts each condition file really carries, with the first kind that carries each;
    intersected with the target they become S. A young form's image carries the young form and
    its colours (the grown subject's; reaching it is the reasoning, so they are derived)."""
    facts: dict[Fact, str] = {}
    for kind in conditions:
        carried: list[Fact] = []
        if kind == "identity":
            for subject in references:
                if subject.young:
                    carried.append(("object", subject.young))
                    carried.extend(("attribute", subject.noun, a) for a in subject.attributes)
                else:
                    carried.append(("object", subject.noun))
                    carried.extend(("attribute", subject.noun, a) for a in subject.attributes)
        elif kind in ("depth", "pose"):
            carried.append(("action", source.action))
        elif kind == "camera":
            carried.append(("camera", source.camera))
        else:
            carried.append(("object", source.ambience))
            carried.append(("attribute", source.ambience, AMBIENCES[source.ambience].attribute))
        for fact in carried:
            facts.setdefault(fact, kind)
    return facts


def _source(fact: Fact, built: Built, carriers: dict[Fact, str]) -> str:
    """Where a reader finds the fact: the reasoning first (a riddle's dog is named by no word of the
    text), then the text, then a condition file; the generator's own draws are free."""
    if fact in built.derived:
        return "derived"
    if fact in built.stated:
        return "text"
    if fact in carriers:
        return f"condition:{carriers[fact]}"
    return FREE


def element_key(fact: Fact) -> str:
    """The fact as `KeyElements.elements()` names it."""
    return attribute_key(fact[1], fact[2]) if fact[0] == "attribute" else fact[1]


def _key_elements(ordered: list[Fact], chosen: set[Fact]) -> KeyElements:
    objects: dict[str, list[str]] = {}
    lists: dict[str, list[str]] = {"action": [], "camera": [], "style": []}
    for fact in ordered:
        if fact not in chosen:
            continue
        if fact[0] == "object":
            objects.setdefault(fact[1], [])
        elif fact[0] == "attribute":
            objects.setdefault(fact[1], []).append(fact[2])
        else:
            lists[fact[0]].append(fact[1])
    return KeyElements(
        objects=tuple(KeyObject(name, tuple(attributes)) for name, attributes in objects.items()),
        actions=tuple(lists["action"]),
        camera=tuple(lists["camera"]),
        style=tuple(lists["style"]),
    )
