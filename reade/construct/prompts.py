"""The teacher's prompts: our wording of the four CoT steps of paper D.1 and the U/S/Z extraction of D.2.

Each prompt asks for a reply in a fixed shape that `reade.construct.answers` checks, so a malformed
answer is caught and asked again instead of landing in a training set. The request, the
descriptions and the captions are sent as labelled data in the user turn; what the teacher must do
stays in the system turn. `PROMPT_VERSION` goes into every output row: rows built with other
wording can be told apart.
"""

from __future__ import annotations

from reade.clients.openai_chat import Message
from reade.schema import CAPTION_PARTS, CAPTION_TITLES

PROMPT_VERSION = "construct-2026-11-22.1"

OPERATIONS = ("create", "add", "modify", "remove")

INTENT_SYSTEM = """\
You interpret requests that people write to a video generation system.
Decide first which operation the request asks for: "create" (a new video), or "add", "modify" or \
"remove" (a change to the content that the attached inputs show). Then state the core objective: \
what the finished video must show. If the request is plain, restate it; if it is short, indirect or \
needs reasoning (a riddle, a consequence, a context), work out what is meant and give only the result.
Reply with exactly two lines and nothing else:
Operation: <create, add, modify or remove>
Objective: <one to three complete sentences>"""

IDENTITY_SYSTEM = """\
The image is an identity reference for a video to be generated. Describe who or what it shows so \
that the same subject can be recognised: the features that identify it (face, hair, build, colours), \
clothing and accessories, notable objects and how they relate. Reply with one to three plain \
sentences and nothing else."""

DEPTH_SYSTEM = """\
The images are frames, in time order, of a depth sequence for a video to be generated: brighter \
means nearer. Describe the layout of the scene (what is near and far, what hides or supports what), \
how things move from frame to frame and how they interact. Reply with one to three plain sentences \
and nothing else."""

POSE_SYSTEM = """\
The images are frames, in time order, of a human-pose sequence (stick figures) for a video to be \
generated. Describe how many people there are, their posture, how they move from frame to frame and \
how they interact. Reply with one to three plain sentences and nothing else."""

AUDIO_SYSTEM = """\
The audio clip belongs to a video to be generated. Describe what can be heard: the sound sources, \
the ambience and the mood they set. Reply with one to three plain sentences and nothing else."""

ALIGN_SYSTEM = """\
You reconcile a written video request with descriptions of the other inputs that came with it \
(images, depth, pose, camera, audio). Say where they agree, name every conflict between them, and \
settle each conflict in favour of the written request while keeping the details of the other inputs \
that do not conflict with it. End with one statement of the video that is intended. Reply with at \
most five plain sentences, no lists or headings."""

SUPPLEMENT_SYSTEM = f"""\
You complete the description of a video to be generated. You receive a reference description of the \
target video and what is understood so far of the request. First name the details that the \
reference gives and the understanding lacks (for example setting, lighting, style, atmosphere, \
time, framing), consistent with the reference and without repeating what is already understood. \
Then write the final caption of the video in six numbered parts, each on one line, faithful to the \
reference and to the understood intent.
Reply in exactly this shape and nothing else:
Missing details: <plain sentences>
{chr(10).join(f"{i}. {CAPTION_TITLES[name]}: <text>" for i, name in enumerate(CAPTION_PARTS, start=1))}"""

KEY_ELEMENTS_SYSTEM = """\
You turn a video caption into lists of short, checkable facts, sorted by where each fact comes from:
- "user": facts that the written request itself states;
- "supplementary": facts that the other inputs (images, depth, pose, camera, audio) supply, as the \
reasoning describes them, and the request does not state;
- "imaginative": the remaining facts of the caption, added beyond both.
Each group is an object {"objects": [{"name": <noun>, "attributes": [<phrase>, ...]}], \
"actions": [<phrase>], "camera": [<phrase>], "style": [<phrase>]}, with phrases of one to five \
words taken from the caption; a list may be empty.
Reply with one JSON object {"user": {...}, "supplementary": {...}, "imaginative": {...}} and nothing else."""

DESCRIBE_SYSTEMS = {"identity": IDENTITY_SYSTEM, "depth": DEPTH_SYSTEM, "pose": POSE_SYSTEM, "audio": AUDIO_SYSTEM}
KIND_NAMES = {
    "identity": "identity image",
    "depth": "depth sequence",
    "pose": "pose sequence",
    "camera": "camera trajectory",
    "audio": "audio clip",
}


def intent_messages(instruction: str, kinds: list[str]) -> list[Message]:
    attached = ", ".join(KIND_NAMES[kind] for kind in kinds) or "none"
    user = f"Request:\n{instruction}\n\nOther inputs attached: {attached}"
    return _chat(INTENT_SYSTEM, user)


def describe_messages(kind: str, media: list[dict]) -> list[Message]:
    """`media`: the content parts (images or one audio clip) of one condition."""
    return [{"role": "system", "content": DESCRIBE_SYSTEMS[kind]}, {"role": "user", "content": media}]


def align_messages(instruction: str, objective: str, descriptions: str) -> list[Message]:
    user = f"Request:\n{instruction}\n\nIntent:\n{objective}\n\nOther inputs:\n{descriptions}"
    return _chat(ALIGN_SYSTEM, user)


def supplement_messages(gold: str, understood: str) -> list[Message]:
    user = f"Reference description:\n{gold}\n\nUnderstood so far:\n{understood}"
    return _chat(SUPPLEMENT_SYSTEM, user)


def key_elements_messages(instruction: str, think: str, caption: str) -> list[Message]:
    user = f"Request:\n{instruction}\n\nReasoning:\n{think}\n\nCaption:\n{caption}"
    return _chat(KEY_ELEMENTS_SYSTEM, user)


def _chat(system: str, user: str) -> list[Message]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
