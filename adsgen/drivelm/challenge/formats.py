"""DriveLM file formats: read, validate and write every file of the DriveLM-nuScenes challenge.

Formats (field names exactly as the challenge spells them):

- nested (``train_sample.json``, ``test_eval.json``, the question file ``v1_1_val_nus_q_only.json``):
  ``{scene_token: {"scene_description"?, "key_frames": {frame_token: {"key_object_infos"?,
  "QA": {"perception": [...], "prediction": [...], "planning": [...], "behavior": [...]},
  "image_paths": {CAM: path}}}}}``; a QA item is ``{"Q", "A", "C", "con_up", "con_down", "cluster",
  "layer", "tag"?}``. The question file is the same with every ``"A"`` empty.
- conversations (``test_llama.json``): ``[{"id": "<scene>_<frame>_<i>", "image": [paths],
  "conversations": [{"from": "human", "value": "<image>\\n" + Q}, {"from": "gpt", "value": A}]}]``;
  ``i`` counts the questions of a frame over perception + prediction + planning + behavior, in order.
- predictions (a model's output): ``[{"id", "question", "answer"}]`` (``gt_answer`` and other keys kept).
- submission: ``{"method", "team", "authors", "email", "institution", "country", "results": predictions}``.

Every reader raises :class:`adsgen.errors.InputError` with one line naming the file, scene, frame and
question at fault. Unknown keys in data files are kept (``extra``) and written back unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsgen.errors import InputError
from adsgen.outputs import atomic_path

QA_CATEGORIES = ("perception", "prediction", "planning", "behavior")  # the challenge's question order
CAMERAS = ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")

# Question tags of the evaluation file: which metric scores a question.
TAG_ACCURACY = 0   # exact string match ("A", "Yes.")
TAG_GPT = 1        # GPT-judged
TAG_LANGUAGE = 2   # BLEU / ROUGE-L / CIDEr
TAG_MATCH = 3      # coordinate match F1 (+ GPT)
TAGS = (TAG_ACCURACY, TAG_GPT, TAG_LANGUAGE, TAG_MATCH)

TAG_FRAME_PX = (1600, 900)  # [px] DriveLM tags and 2d_bbox are in nuScenes' 1600x900 camera frame, whatever
# the stored image's size (adsgen drivelm qa --scale writes smaller images with unscaled tags)
IMAGE_TOKEN = "<image>\n"  # prefix of the human turn in the conversation format

# <c1,CAM_BACK,1088.3,497.5>: object index, camera, pixel x, pixel y (one decimal, as the dataset writes)
OBJECT_TAG_RE = re.compile(r"<c(\d+),(CAM_[A-Z_]+),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)>")

_QA_KEYS = ("Q", "A", "C", "con_up", "con_down", "cluster", "layer", "tag")
_OBJECT_KEYS = ("Category", "Status", "Visual_description", "2d_bbox")
DEPTH_KEYS = ("depth_m", "Depth_m", "depth")  # key_object_infos fields read as metric depth [m]
_NUMBER_KEYS = (*DEPTH_KEYS, "closing_mps")  # extra key_object_infos fields that must be numbers
SUBMISSION_FIELDS = ("method", "team", "authors", "email", "institution", "country")


def strip_image_marker(question: str) -> str:
    """The question without a leading '<image>\\n' (the conversation format's marker; images go separately)."""
    return re.sub(r"^\s*(<image>\s*)+", "", question)


# ----------------------------------------------------------------------------------------------
# object tags


@dataclass(frozen=True)
class ObjectTag:
    """A key object's identifier ``<cN,CAM,x,y>``: its index and its centre in pixels of one camera."""

    index: int
    camera: str
    x_px: float
    y_px: float

    def __str__(self) -> str:
        return format_object_tag(self.index, self.camera, self.x_px, self.y_px)


def format_object_tag(index: int, camera: str, x_px: float, y_px: float) -> str:
    """``<c{index},{camera},{x:.1f},{y:.1f}>``; always one decimal: the scorer reads ``\\d+\\.\\d+``."""
    return f"<c{index},{camera},{x_px:.1f},{y_px:.1f}>"


def parse_object_tag(text: str) -> ObjectTag:
    """Parse one ``<cN,CAM,x,y>`` tag (the whole string); ValueError if it is not one."""
    m = OBJECT_TAG_RE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not an object tag <cN,CAM,x,y>: {text!r}")
    return ObjectTag(int(m.group(1)), m.group(2), float(m.group(3)), float(m.group(4)))


def find_object_tags(text: str) -> list[ObjectTag]:
    """Every ``<cN,CAM,x,y>`` tag in a question or answer, in order."""
    return [ObjectTag(int(m.group(1)), m.group(2), float(m.group(3)), float(m.group(4)))
            for m in OBJECT_TAG_RE.finditer(text)]


# ----------------------------------------------------------------------------------------------
# JSON helpers


def read_json(path: str | Path, what: str) -> Any:
    """Load a JSON file; a missing, unreadable or truncated file raises InputError naming it."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: {what} not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read {what}: {exc}") from None
    if not text.strip():
        raise InputError(f"{p}: {what} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        hint = " (the file looks truncated)" if truncated else ""
        raise InputError(f"{p}: {what} is not valid JSON{hint}: {exc.msg} (line {exc.lineno}, "
                         f"column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"{p}: {what} is nested too deeply to read") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise InputError(f"{p}: {what}: {str(exc)[:160]}") from None


def write_json(obj: Any, path: str | Path, indent: int = 4) -> Path:
    """Write JSON (UTF-8, the challenge's 4-space indent); creates the parent folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=indent, ensure_ascii=False) + "\n"
    with atomic_path(p) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return p


def _fail(source: str, where: str, msg: str) -> InputError:
    return InputError(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")


def _expect(value: Any, kind: type | tuple[type, ...], source: str, where: str, name: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(source, where, f"'{name}' must be {_article(names)}, got {type(value).__name__}")
    return value


def _article(names: str) -> str:
    return {"dict": "an object", "list": "a list", "str": "a string"}.get(names, f"a {names}")


# ----------------------------------------------------------------------------------------------
# nested DriveLM-nuScenes format


@dataclass
class QAItem:
    """One question of a key frame."""

    question: str                       # "Q"
    answer: str                         # "A" ("" in a question file)
    tags: list[int] | None = None       # "tag": which metrics score it (TAG_*); None in training files
    choices: Any = None                 # "C"
    con_up: Any = None                  # "con_up": graph edges to parent questions
    con_down: Any = None                # "con_down": graph edges to child questions
    cluster: Any = None                 # "cluster"
    layer: Any = None                   # "layer"
    extra: dict = field(default_factory=dict)  # any other keys, kept as read

    def to_json(self) -> dict:
        out: dict[str, Any] = {"Q": self.question, "A": self.answer, "C": self.choices,
                               "con_up": self.con_up, "con_down": self.con_down,
                               "cluster": self.cluster, "layer": self.layer}
        if self.tags is not None:
            out["tag"] = list(self.tags)
        out.update(self.extra)
        return out


@dataclass
class KeyObject:
    """One entry of ``key_object_infos`` (keyed by its ``<cN,CAM,x,y>`` tag)."""

    category: str | None                # "Category": Vehicle, Pedestrian, Traffic element, ...
    status: str | None                  # "Status": Moving, Stationary, ... (None for traffic elements)
    visual_description: str | None      # "Visual_description": "Brown SUV."
    bbox_2d: list[float] | None         # "2d_bbox": [x1, y1, x2, y2] in pixels of the tag's camera
    extra: dict = field(default_factory=dict)  # other keys (adsgen drivelm qa: depth_m, closing_mps, braking)

    @property
    def depth_m(self) -> float | None:
        """Metric depth [m] (adsgen drivelm qa writes it from the simulator's depth map), when present."""
        value = next((self.extra[k] for k in DEPTH_KEYS if self.extra.get(k) is not None), None)
        return None if value is None else float(value)

    @property
    def closing_mps(self) -> float | None:
        """Closing speed along the ego's heading [m/s] (adsgen drivelm qa writes it for road users)."""
        value = self.extra.get("closing_mps")
        return None if value is None else float(value)

    @property
    def braking(self) -> bool:
        """Brake lights on (adsgen drivelm qa writes it for road users)."""
        return bool(self.extra.get("braking", False))

    def to_json(self) -> dict:
        out: dict[str, Any] = {"Category": self.category, "Status": self.status,
                               "Visual_description": self.visual_description,
                               "2d_bbox": None if self.bbox_2d is None else list(self.bbox_2d)}
        out.update(self.extra)
        return out


@dataclass
class KeyFrame:
    """One annotated key frame: its questions, its six camera images and (training files) key objects."""

    qa: dict[str, list[QAItem]]                         # category -> questions (QA_CATEGORIES)
    image_paths: dict[str, str]                         # camera -> image path
    key_object_infos: dict[str, KeyObject] | None = None  # tag -> object; None in question files
    extra: dict = field(default_factory=dict)

    def questions(self) -> list[QAItem]:
        """All questions in the challenge's order (perception, prediction, planning, behavior)."""
        return [q for cat in QA_CATEGORIES for q in self.qa.get(cat, [])]

    def to_json(self) -> dict:
        out: dict[str, Any] = {}
        if self.key_object_infos is not None:
            out["key_object_infos"] = {k: v.to_json() for k, v in self.key_object_infos.items()}
        out["QA"] = {cat: [q.to_json() for q in self.qa.get(cat, [])] for cat in QA_CATEGORIES}
        out["image_paths"] = dict(self.image_paths)
        out.update(self.extra)
        return out


@dataclass
class Scene:
    """One nuScenes scene (or one simulated scenario run) with its key frames."""

    key_frames: dict[str, KeyFrame]
    scene_description: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out: dict[str, Any] = {}
        if self.scene_description is not None:
            out["scene_description"] = self.scene_description
        out["key_frames"] = {k: v.to_json() for k, v in self.key_frames.items()}
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class QuestionRef:
    """A question with its place: scene, frame, index in the frame (the ``i`` of its id)."""

    scene_id: str
    frame_id: str
    index: int
    category: str
    qa: QAItem
    frame: KeyFrame

    @property
    def id(self) -> str:
        return question_id(self.scene_id, self.frame_id, self.index)


def question_id(scene_id: str, frame_id: str, index: int) -> str:
    """The challenge's question id ``<scene>_<frame>_<i>``."""
    return f"{scene_id}_{frame_id}_{index}"


@dataclass
class NestedDataset:
    """A whole nested DriveLM file: scene token -> Scene, in file order."""

    scenes: dict[str, Scene]
    extra_top: dict = field(default_factory=dict)  # top-level keys that are not scenes (adsgen "_meta")

    def iter_questions(self) -> Iterator[QuestionRef]:
        """Every question in the challenge's order, with its id."""
        for sid, scene in self.scenes.items():
            for fid in scene.key_frames:
                yield from self.iter_questions_of(sid, fid)

    def iter_questions_of(self, scene_id: str, frame_id: str) -> Iterator[QuestionRef]:
        """The questions of one frame in the challenge's order."""
        frame = self.scenes[scene_id].key_frames[frame_id]
        i = 0
        for cat in QA_CATEGORIES:
            for qa in frame.qa.get(cat, []):
                yield QuestionRef(scene_id, frame_id, i, cat, qa, frame)
                i += 1

    def question_ids(self) -> list[str]:
        return [ref.id for ref in self.iter_questions()]

    def n_frames(self) -> int:
        return sum(len(s.key_frames) for s in self.scenes.values())

    def kind(self) -> str:
        """'train' (no tags), 'eval' (tags and answers) or 'questions' (tags, every answer empty)."""
        refs = list(self.iter_questions())
        if not refs or any(r.qa.tags is None for r in refs):
            return "train"
        return "questions" if all(r.qa.answer == "" for r in refs) else "eval"

    def to_json(self) -> dict:
        out = {sid: s.to_json() for sid, s in self.scenes.items()}
        out.update(self.extra_top)
        return out


def _parse_qa(obj: Any, source: str, where: str) -> QAItem:
    _expect(obj, dict, source, where, "QA item")
    for key in ("Q", "A"):
        if key not in obj:
            raise _fail(source, where, f"QA item has no '{key}'")
        _expect(obj[key], str, source, where, key)
    tags = obj.get("tag")
    if tags is not None:
        if isinstance(tags, int) and not isinstance(tags, bool):
            tags = [tags]
        _expect(tags, list, source, where, "tag")
        if not tags or any(t not in TAGS or isinstance(t, bool) for t in tags):
            raise _fail(source, where, f"'tag' must be a non-empty list of {list(TAGS)}, got {tags!r}")
    extra = {k: v for k, v in obj.items() if k not in _QA_KEYS}
    return QAItem(question=obj["Q"], answer=obj["A"], tags=None if tags is None else list(tags),
                  choices=obj.get("C"), con_up=obj.get("con_up"), con_down=obj.get("con_down"),
                  cluster=obj.get("cluster"), layer=obj.get("layer"), extra=extra)


def _parse_key_object(tag: str, obj: Any, source: str, where: str) -> KeyObject:
    try:
        parse_object_tag(tag)
    except ValueError:
        raise _fail(source, where, f"key_object_infos key {tag!r} is not a tag <cN,CAM,x,y>") from None
    where = f"{where} object {tag}"
    _expect(obj, dict, source, where, "key object")
    bbox = obj.get("2d_bbox")
    if bbox is not None:
        _expect(bbox, list, source, where, "2d_bbox")
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox):
            raise _fail(source, where, f"'2d_bbox' must be 4 numbers [x1, y1, x2, y2], got {bbox!r}")
        bbox = [float(v) for v in bbox]
    for key in ("Category", "Status", "Visual_description"):
        if obj.get(key) is not None:
            _expect(obj[key], str, source, where, key)
    for key in _NUMBER_KEYS:
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _fail(source, where, f"'{key}' must be a number, got {value!r}")
    extra = {k: v for k, v in obj.items() if k not in _OBJECT_KEYS}
    return KeyObject(category=obj.get("Category"), status=obj.get("Status"),
                     visual_description=obj.get("Visual_description"), bbox_2d=bbox, extra=extra)


def _parse_frame(obj: Any, source: str, where: str) -> KeyFrame:
    _expect(obj, dict, source, where, "key frame")
    if "QA" not in obj:
        raise _fail(source, where, "key frame has no 'QA'")
    qa_obj = _expect(obj["QA"], dict, source, where, "QA")
    unknown = [k for k in qa_obj if k not in QA_CATEGORIES]
    if unknown:
        raise _fail(source, where, f"unknown QA categories {unknown}; expected {list(QA_CATEGORIES)}")
    qa: dict[str, list[QAItem]] = {}
    index = 0
    for cat in QA_CATEGORIES:
        items = _expect(qa_obj.get(cat, []), list, source, where, f"QA.{cat}")
        qa[cat] = []
        for j, item in enumerate(items):
            qa[cat].append(_parse_qa(item, source, f"{where} {cat}[{j}] (question {index})"))
            index += 1
    images = obj.get("image_paths", {})
    _expect(images, dict, source, where, "image_paths")
    for cam, path in images.items():
        _expect(path, str, source, f"{where} image_paths", cam)
    infos = None
    if "key_object_infos" in obj:
        raw = _expect(obj["key_object_infos"], dict, source, where, "key_object_infos")
        infos = {tag: _parse_key_object(tag, o, source, where) for tag, o in raw.items()}
    extra = {k: v for k, v in obj.items() if k not in ("QA", "image_paths", "key_object_infos")}
    return KeyFrame(qa=qa, image_paths=dict(images), key_object_infos=infos, extra=extra)


def parse_nested(obj: Any, source: str = "<data>") -> NestedDataset:
    """Validate a loaded nested DriveLM object. Keys starting with '_' at the top are metadata."""
    _expect(obj, dict, source, "", "top level")
    scenes: dict[str, Scene] = {}
    extra_top: dict = {}
    for sid, sobj in obj.items():
        if sid.startswith("_"):
            extra_top[sid] = sobj
            continue
        where = f"scene {sid}"
        _expect(sobj, dict, source, where, "scene")
        if "key_frames" not in sobj:
            raise _fail(source, where, "scene has no 'key_frames'")
        frames_obj = _expect(sobj["key_frames"], dict, source, where, "key_frames")
        frames = {fid: _parse_frame(fobj, source, f"{where} frame {fid}") for fid, fobj in frames_obj.items()}
        desc = sobj.get("scene_description")
        if desc is not None:
            _expect(desc, str, source, where, "scene_description")
        extra = {k: v for k, v in sobj.items() if k not in ("key_frames", "scene_description")}
        scenes[sid] = Scene(key_frames=frames, scene_description=desc, extra=extra)
    if not scenes:
        raise _fail(source, "", "no scenes in the file")
    return NestedDataset(scenes=scenes, extra_top=extra_top)


def load_nested(path: str | Path) -> NestedDataset:
    """Read and validate a nested DriveLM file (training, evaluation or question file)."""
    return parse_nested(read_json(path, "DriveLM file"), str(path))


def write_nested(data: NestedDataset, path: str | Path) -> Path:
    return write_json(data.to_json(), path)


def check_eval_file(data: NestedDataset, source: str) -> None:
    """An evaluation (ground-truth) file must tag every question and answer it."""
    for ref in data.iter_questions():
        if ref.qa.tags is None:
            raise InputError(f"{source}: scene {ref.scene_id} frame {ref.frame_id} question {ref.index} "
                             f"({ref.category}) has no 'tag': a ground-truth file needs the challenge's "
                             "tags (this looks like a training file; make one with 'adsgen drivelm convert "
                             "nested-to-eval')")
        if ref.qa.answer == "":
            raise InputError(f"{source}: scene {ref.scene_id} frame {ref.frame_id} question {ref.index} "
                             f"({ref.category}) has an empty answer: this is a question file, not ground truth")


def check_question_file(data: NestedDataset, source: str) -> None:
    """A question file (v1.1) tags every question; answers may be empty."""
    for ref in data.iter_questions():
        if ref.qa.tags is None:
            raise InputError(f"{source}: scene {ref.scene_id} frame {ref.frame_id} question {ref.index} "
                             f"({ref.category}) has no 'tag': not a DriveLM v1.1 question file (a training "
                             "file or an older version?)")


# ----------------------------------------------------------------------------------------------
# conversions of the nested format


def to_question_file(data: NestedDataset) -> NestedDataset:
    """The question file given to a model: the same frames and questions, every answer emptied,
    key objects removed (they hold the answers)."""
    scenes = {}
    for sid, scene in data.scenes.items():
        frames = {}
        for fid, frame in scene.key_frames.items():
            qa = {cat: [QAItem(question=q.question, answer="", tags=q.tags) for q in frame.qa.get(cat, [])]
                  for cat in QA_CATEGORIES}
            frames[fid] = KeyFrame(qa=qa, image_paths=dict(frame.image_paths))
        scenes[sid] = Scene(key_frames=frames)
    return NestedDataset(scenes=scenes)


def map_image_path(path: str, prefix_from: str = "..", prefix_to: str = "data") -> str:
    """Rewrite a leading path prefix, as the challenge's converter maps '../nuscenes' to 'data/nuscenes'."""
    if prefix_from and path.startswith(prefix_from):
        return prefix_to + path[len(prefix_from):]
    return path


@dataclass
class ConversationItem:
    """One entry of the flattened list a model trains on / answers: one question of one frame."""

    id: str
    image: list[str]
    question: str     # without the "<image>\n" prefix
    answer: str
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"id": self.id, "image": list(self.image),
               "conversations": [{"from": "human", "value": IMAGE_TOKEN + self.question},
                                 {"from": "gpt", "value": self.answer}]}
        out.update(self.extra)
        return out


def to_conversations(data: NestedDataset, prefix_from: str = "..", prefix_to: str = "data"
                     ) -> list[ConversationItem]:
    """Nested -> flattened conversations, ids ``<scene>_<frame>_<i>`` in the challenge's order; images are
    the frame's image paths in file order with ``prefix_from`` replaced by ``prefix_to``."""
    out = []
    for ref in data.iter_questions():
        images = [map_image_path(p, prefix_from, prefix_to) for p in ref.frame.image_paths.values()]
        out.append(ConversationItem(id=ref.id, image=images, question=ref.qa.question, answer=ref.qa.answer))
    return out


def parse_conversations(obj: Any, source: str = "<data>") -> list[ConversationItem]:
    _expect(obj, list, source, "", "top level")
    out: list[ConversationItem] = []
    seen: set[str] = set()
    for k, item in enumerate(obj):
        where = f"entry {k}"
        _expect(item, dict, source, where, "entry")
        for key in ("id", "conversations"):
            if key not in item:
                raise _fail(source, where, f"entry has no '{key}'")
        _expect(item["id"], str, source, where, "id")
        where = f"entry {k} (id {item['id']})"
        if item["id"] in seen:
            raise _fail(source, where, "duplicated id")
        seen.add(item["id"])
        image = item.get("image", [])
        if isinstance(image, str):
            image = [image]
        _expect(image, list, source, where, "image")
        conv = _expect(item["conversations"], list, source, where, "conversations")
        human = [c for c in conv if isinstance(c, dict) and c.get("from") == "human"]
        gpt = [c for c in conv if isinstance(c, dict) and c.get("from") == "gpt"]
        if len(human) != 1 or len(gpt) > 1:
            raise _fail(source, where, "'conversations' must hold one 'human' turn and at most one 'gpt' turn")
        q = _expect(human[0].get("value"), str, source, where, "human value")
        a = _expect(gpt[0].get("value"), str, source, where, "gpt value") if gpt else ""
        if q.startswith(IMAGE_TOKEN):
            q = q[len(IMAGE_TOKEN):]
        extra = {k2: v for k2, v in item.items() if k2 not in ("id", "image", "conversations")}
        out.append(ConversationItem(id=item["id"], image=list(image), question=q, answer=a, extra=extra))
    return out


def load_conversations(path: str | Path) -> list[ConversationItem]:
    return parse_conversations(read_json(path, "conversation file"), str(path))


def write_conversations(items: list[ConversationItem], path: str | Path) -> Path:
    return write_json([it.to_json() for it in items], path)


# ----------------------------------------------------------------------------------------------
# predictions and the submission wrapper


@dataclass
class Prediction:
    """A model's answer to one question."""

    id: str
    answer: str
    question: str | None = None   # "<image>\n" + Q as the model saw it (optional when reading)
    extra: dict = field(default_factory=dict)  # e.g. "gt_answer"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"id": self.id}
        if self.question is not None:
            out["question"] = self.question
        out["answer"] = self.answer
        out.update(self.extra)
        return out


def parse_predictions(obj: Any, source: str = "<data>") -> list[Prediction]:
    """Validate a prediction list; duplicated ids are an error (the official script would silently keep
    the last one)."""
    if isinstance(obj, dict) and "results" in obj:
        raise _fail(source, "", "this is a submission file (it has 'results'); give its predictions, or "
                    "use 'adsgen drivelm convert submission-to-predictions'")
    _expect(obj, list, source, "", "top level (a list of {id, question, answer})")
    out: list[Prediction] = []
    first_seen: dict[str, int] = {}
    dups: list[str] = []
    for k, item in enumerate(obj):
        where = f"entry {k}"
        _expect(item, dict, source, where, "prediction")
        for key in ("id", "answer"):
            if key not in item:
                raise _fail(source, where if "id" not in item else f"{where} (id {item['id']})",
                            f"prediction has no '{key}'")
        _expect(item["id"], str, source, where, "id")
        where = f"entry {k} (id {item['id']})"
        _expect(item["answer"], str, source, where, "answer")
        if item.get("question") is not None:
            _expect(item["question"], str, source, where, "question")
        if item["id"] in first_seen:
            dups.append(f"{item['id']} (entries {first_seen[item['id']]} and {k})")
        first_seen.setdefault(item["id"], k)
        extra = {k2: v for k2, v in item.items() if k2 not in ("id", "question", "answer")}
        out.append(Prediction(id=item["id"], answer=item["answer"], question=item.get("question"), extra=extra))
    if dups:
        more = f" and {len(dups) - 3} more" if len(dups) > 3 else ""
        raise _fail(source, "", f"{len(dups)} duplicated prediction ids: {', '.join(dups[:3])}{more}")
    return out


def load_predictions(path: str | Path) -> list[Prediction]:
    """Read a prediction list ``[{id, question, answer}]`` (a submission's results are accepted too)."""
    obj = read_json(path, "prediction file")
    if isinstance(obj, dict) and "results" in obj:
        return parse_submission(obj, str(path)).results
    return parse_predictions(obj, str(path))


def write_predictions(preds: list[Prediction], path: str | Path) -> Path:
    return write_json([p.to_json() for p in preds], path)


@dataclass
class Submission:
    """The file uploaded to the challenge server."""

    method: str                 # name of the method
    team: str                   # team name exactly as registered
    authors: list[str]          # author names
    email: str                  # contact e-mail
    institution: str            # institution or company
    country: str                # country or region
    results: list[Prediction]   # one answer per question of the question file

    def to_json(self) -> dict:
        return {"method": self.method, "team": self.team, "authors": list(self.authors),
                "email": self.email, "institution": self.institution, "country": self.country,
                "results": [p.to_json() for p in self.results]}


@dataclass(frozen=True)
class SubmissionHeader:
    """Who submits what: the submission's fields besides its results (SUBMISSION_FIELDS)."""

    method: str                      # name of the method
    team: str                        # team name exactly as registered
    authors: tuple[str, ...] = ()    # author names
    email: str = ""                  # contact e-mail
    institution: str = ""            # institution or company
    country: str = ""                # country or region

    def with_results(self, results: list[Prediction]) -> Submission:
        """The submission of these results under this header."""
        return Submission(method=self.method, team=self.team, authors=list(self.authors), email=self.email,
                          institution=self.institution, country=self.country, results=results)


def parse_submission(obj: Any, source: str = "<data>") -> Submission:
    _expect(obj, dict, source, "", "top level")
    missing = [k for k in (*SUBMISSION_FIELDS, "results") if k not in obj]
    if missing:
        raise _fail(source, "", f"submission lacks {missing}")
    for key in SUBMISSION_FIELDS:
        if key == "authors":
            authors = _expect(obj[key], list, source, "", key)
            if not all(isinstance(a, str) for a in authors):
                raise _fail(source, "", "'authors' must be a list of strings")
        else:
            _expect(obj[key], str, source, "", key)
    results = parse_predictions(obj["results"], f"{source} results")
    return Submission(method=obj["method"], team=obj["team"], authors=list(obj["authors"]),
                      email=obj["email"], institution=obj["institution"], country=obj["country"],
                      results=results)


def load_submission(path: str | Path) -> Submission:
    return parse_submission(read_json(path, "submission file"), str(path))


def write_submission(sub: Submission, path: str | Path) -> Path:
    return write_json(sub.to_json(), path)


def detect_format(obj: Any) -> str:
    """Which DriveLM format a loaded JSON object is: 'nested', 'conversations', 'predictions',
    'submission' or 'unknown'."""
    if isinstance(obj, dict):
        if "results" in obj and "team" in obj:
            return "submission"
        if any(isinstance(v, dict) and "key_frames" in v for v in obj.values()):
            return "nested"
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        if "conversations" in obj[0]:
            return "conversations"
        if "answer" in obj[0] and "id" in obj[0]:
            return "predictions"
    return "unknown"
