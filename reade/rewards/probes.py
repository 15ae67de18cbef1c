"""Captions of known quality built from a synthetic split, to check and compare judges.

For each sample: its gold output, the gold output of another sample (same format, wrong content),
and the gold output with one aspect (camera or style) removed: that aspect's caption part says
"Not described." and its words are cut from every other part, using the scene that generated the
sample (`meta.scene`). A good judge ranks them gold > aspect removed > other sample, and the
elements of a removed aspect are not found.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reade.schema import CAPTION_PARTS, Sample, render_output

ASPECT_WORDS = {
    "camera": lambda scene: ["slow " + scene["camera"], "static camera", scene["camera"], scene["shot"], scene["angle"]],
    "style": lambda scene: [scene["style"] + " style", scene["style"], scene["lighting"], scene["mood"] + " mood"],
}
KINDS = ("gold", "other", *(f"no_{aspect}" for aspect in ASPECT_WORDS))


@dataclass(frozen=True)
class Probe:
    id: str
    kind: str
    sample: Sample  # whose key elements the prediction is judged against
    prediction: str


def without_aspect(sample: Sample, aspect: str, scene: dict) -> Sample:
    parts = {name: getattr(sample.caption, name) for name in CAPTION_PARTS}
    parts[aspect] = "Not described."
    for words in sorted(ASPECT_WORDS[aspect](scene), key=len, reverse=True):
        for name in CAPTION_PARTS:
            if name != aspect:
                parts[name] = parts[name].replace(words, "").replace(words.capitalize(), "")
    return replace(sample, caption=replace(sample.caption, **parts))


def probes(rows: list[dict]) -> list[Probe]:
    """Every kind for every row (rows are synthetic JSONL rows with `meta.scene`)."""
    samples = [Sample.from_dict(row) for row in rows]
    out = []
    for i, (sample, row) in enumerate(zip(samples, rows)):
        other = samples[(i + len(samples) // 2) % len(samples)]
        out.append(Probe(sample.id, "gold", sample, render_output(sample.think, sample.caption)))
        out.append(Probe(sample.id, "other", sample, render_output(other.think, other.caption)))
        for aspect in ASPECT_WORDS:
            cut = without_aspect(sample, aspect, row["meta"]["scene"])
            out.append(Probe(sample.id, f"no_{aspect}", sample, render_output(cut.think, cut.caption)))
    return out
