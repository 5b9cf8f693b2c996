"""Make a challenge-style evaluation file from a training-format nested file.

The selection follows the challenge kit's description of its test format. Per frame:

- perception: the first question whose answer names every key object's class (the text of its visual
  description before the first period, case-insensitive), tagged language [2]; then the first
  "What is the moving status of object" question, tagged accuracy [0], made 4-way multiple choice.
- prediction: the first question whose answer holds every key object's tag, tagged match [3]; then the
  first question whose answer contains "yes" or "no" as a substring (the kit's rule, so "notice" counts),
  tagged accuracy [0].
- planning: the first "What actions could the ego vehicle take", "lead to a collision" and
  "safe actions" questions, in file order, tagged GPT [1].
- behavior: every question, tagged accuracy [0], made 4-way multiple choice over the 21 behaviours.

Multiple-choice distractors are drawn with a seeded RNG, so the same seed gives the same file.
"""

from __future__ import annotations

import random

from adsgen.drivelm.challenge.choices import (
    EGO_BEHAVIOURS,
    MOVING_STATUS_QUESTION,
    MOVING_STATUSES,
    make_multiple_choice,
)
from adsgen.drivelm.challenge.formats import (
    QA_CATEGORIES,
    TAG_ACCURACY,
    TAG_GPT,
    TAG_LANGUAGE,
    TAG_MATCH,
    KeyFrame,
    NestedDataset,
    QAItem,
    Scene,
)
from adsgen.errors import InputError

_PLANNING_KINDS = ("what actions could the ego vehicle take", "lead to a collision", "safe actions")


def _tagged(qa: QAItem, tag: int, question: str | None = None, answer: str | None = None) -> QAItem:
    return QAItem(question=qa.question if question is None else question,
                  answer=qa.answer if answer is None else answer, tags=[tag], choices=qa.choices,
                  con_up=qa.con_up, con_down=qa.con_down, cluster=qa.cluster, layer=qa.layer,
                  extra=dict(qa.extra))


def _select_frame(frame: KeyFrame, rng: random.Random, where: str) -> KeyFrame:
    infos = frame.key_object_infos or {}
    classes = [(o.visual_description or "").split(".")[0].lower() for o in infos.values()]
    tags = [t.lower() for t in infos]
    qa: dict[str, list[QAItem]] = {cat: [] for cat in QA_CATEGORIES}

    perception = frame.qa.get("perception", [])
    first = next((q for q in perception if all(c in q.answer.lower() for c in classes)), None)
    if first is not None:
        qa["perception"].append(_tagged(first, TAG_LANGUAGE))
    status = next((q for q in perception if MOVING_STATUS_QUESTION.lower() in q.question.lower()), None)
    if status is not None:
        try:
            mq, ma = make_multiple_choice(status.question, status.answer, MOVING_STATUSES, rng)
        except ValueError as exc:
            raise InputError(f"{where}: moving-status question: {exc}") from None
        qa["perception"].append(_tagged(status, TAG_ACCURACY, mq, ma))

    prediction = frame.qa.get("prediction", [])
    graph = next((q for q in prediction if all(t in q.answer.lower() for t in tags)), None)
    if graph is not None:
        qa["prediction"].append(_tagged(graph, TAG_MATCH))
    yes_no = next((q for q in prediction if "yes" in q.answer.lower() or "no" in q.answer.lower()), None)
    if yes_no is not None:
        qa["prediction"].append(_tagged(yes_no, TAG_ACCURACY))

    added: set[str] = set()
    for q in frame.qa.get("planning", []):
        for kind in _PLANNING_KINDS:
            if kind in q.question.lower() and kind not in added:
                qa["planning"].append(_tagged(q, TAG_GPT))
                added.add(kind)
        if len(added) == len(_PLANNING_KINDS):
            break

    for q in frame.qa.get("behavior", []):
        try:
            bq, ba = make_multiple_choice(q.question, q.answer, EGO_BEHAVIOURS, rng)
        except ValueError as exc:
            raise InputError(f"{where}: behavior question: {exc}") from None
        qa["behavior"].append(_tagged(q, TAG_ACCURACY, bq, ba))
    return KeyFrame(qa=qa, image_paths=dict(frame.image_paths))


def make_eval_file(train: NestedDataset, seed: int = 0, source: str = "training file") -> NestedDataset:
    """Select and tag the challenge's test questions of every frame of a training-format file."""
    rng = random.Random(seed)
    scenes = {}
    for sid, scene in train.scenes.items():
        if any(f.key_object_infos is None for f in scene.key_frames.values()):
            raise InputError(f"{source}: scene {sid}: a frame has no key_object_infos; a training-format "
                             "file is needed")
        frames = {fid: _select_frame(f, rng, f"{source}: scene {sid} frame {fid}")
                  for fid, f in scene.key_frames.items()}
        scenes[sid] = Scene(key_frames=frames)
    return NestedDataset(scenes=scenes)
