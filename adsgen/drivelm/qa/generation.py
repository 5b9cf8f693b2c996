"""DriveLM-format QA generated from simulated scenes, with ground truth from the engine.

For each scenario: one run of the built-in engine against an agent (default: IDM + AEB), keyframes at
evenly spread times, each rendered by ``adsgen.render`` on the chosen cameras. The key objects of a frame
are the road users and the traffic signal the cameras see (at least ``min_pixels`` visible pixels), at most
``max_objects``, ranked by how much they matter to the ego (in its path first, then nearest). Their tags
``<cN,CAM,x,y>`` use the rig's full 1600x900 pixel frame (as DriveLM does for nuScenes) and sit on the
centre of one of the object's own rendered pixels.

Question templates are few and fixed (the ``TEMPLATES`` table), tagged as the challenge tags them:

==================  ==========  =====  ==================================================================
template            category    tag    answer from the engine
==================  ==========  =====  ==================================================================
important_objects   perception  2      key objects: colour + type, camera direction, tags
moving_status       perception  0      4-way choice over the 7 statuses: speed and heading change ahead
notice_order        prediction  3      objects in importance order, their state, the ego's action
moving_direction    prediction  0      Yes./No.: in the ego's lane ahead now or within ``future_s``
traffic_sign        prediction  0      Yes./No.: the object is a signal or sign
actions             planning    1      action for c1, reason, probability
collision_actions   planning    1      which ego action would hit c1 (from where it is)
safe_actions        planning    1      from the most urgent key object
ego_behaviour       behavior    0      4-way choice over the 21 phrases: ego yaw change and speed ahead
signal_state        perception  0      fixed 4-way choice: red / yellow / green light ahead, or none in view
pedestrian_ahead    perception  0      Yes./No.: a pedestrian is in view of a forward camera
night               perception  0      Yes./No.: the scene's light is dark (lighted or unlighted)
poor_visibility     perception  0      Yes./No.: rain, snow or fog
==================  ==========  =====  ==================================================================

The last four ask about what the image shows and the question text cannot give away (no tag, no
coordinates; the signal options are always listed in the same order).

Each key frame also carries ``key_object_infos`` (Category, Status, Visual_description, 2d_bbox in
full-resolution pixels, and ``depth_m``: the 75th percentile of the rendered depth map inside the box, in
metres) and ``image_paths`` relative to the output folder.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adsgen.drivelm.challenge.choices import (
    EGO_BEHAVIOUR_QUESTION,
    EGO_BEHAVIOURS,
    EGO_SPEEDS,
    EGO_STEERING,
    LETTERS,
    MOVING_STATUS_QUESTION,
    MOVING_STATUSES,
    NO,
    OPTIONS_PROMPT,
    YES,
    ego_behaviour_phrase,
    make_multiple_choice,
)
from adsgen.drivelm.challenge.formats import (
    CAMERAS,
    TAG_ACCURACY,
    TAG_GPT,
    TAG_LANGUAGE,
    TAG_MATCH,
    KeyFrame,
    KeyObject,
    QAItem,
    Scene,
    format_object_tag,
)
from adsgen.errors import ConfigError
from adsgen.render import render, save_png
from adsgen.render.palette import paint_of
from adsgen.sim.agents import get_agent
from adsgen.sim.engine import BuiltinBackend

# ---------------------------------------------------------------------------------------------- templates

Q_IMPORTANT = ("What are the important objects in the current scene? Those objects will be considered for the "
               "future reasoning and driving decision.")
Q_NOTICE = ("What object should the ego vehicle notice first when the ego vehicle is getting to the next possible "
            "location? What is the state of the object that is first noticed by the ego vehicle and what action "
            "should the ego vehicle take? What object should the ego vehicle notice second when the ego vehicle is "
            "getting to the next possible location? What is the state of the object perceived by the ego vehicle "
            "as second and what action should the ego vehicle take? What object should the ego vehicle notice "
            "third? What is the state of the object perceived by the ego vehicle as third and what action should "
            "the ego vehicle take?")
Q_SAFE = "In this scenario, what are safe actions to take for the ego vehicle?"

TEMPLATES: dict[str, tuple[str, str, int]] = {   # name -> (category, question text with {tag}, challenge tag)
    "important_objects": ("perception", Q_IMPORTANT, TAG_LANGUAGE),
    "moving_status": ("perception", MOVING_STATUS_QUESTION + " {tag}?", TAG_ACCURACY),
    "notice_order": ("prediction", Q_NOTICE, TAG_MATCH),
    "moving_direction": ("prediction", "Would {tag} be in the moving direction of the ego vehicle?", TAG_ACCURACY),
    "traffic_sign": ("prediction", "Is {tag} a traffic sign or a road barrier?", TAG_ACCURACY),
    "actions": ("planning", "What actions could the ego vehicle take based on {tag}? Why take this action and "
                            "what's the probability?", TAG_GPT),
    "collision_actions": ("planning", "What actions taken by the ego vehicle can lead to a collision with {tag}?",
                          TAG_GPT),
    "safe_actions": ("planning", Q_SAFE, TAG_GPT),
    "ego_behaviour": ("behavior", EGO_BEHAVIOUR_QUESTION, TAG_ACCURACY),
    "signal_state": ("perception", "What is the state of the traffic light ahead of the ego vehicle?",
                     TAG_ACCURACY),
    "pedestrian_ahead": ("perception", "Is there a pedestrian in view ahead of the ego vehicle?", TAG_ACCURACY),
    "night": ("perception", "Is it night in the current scene?", TAG_ACCURACY),
    "poor_visibility": ("perception", "Is it raining, snowing or foggy in the current scene?", TAG_ACCURACY),
}
# signal_state options, always in this order (the letter follows the image, never the option order)
SIGNAL_OPTIONS: dict[str | None, str] = {"red": "Red light.", "yellow": "Yellow light.", "green": "Green light.",
                                         None: "There is no traffic light ahead."}
DARK_LIGHTS = ("dark_lighted", "dark_unlighted")         # light states the night question answers Yes to
POOR_VISIBILITY_WEATHER = ("rain", "snow", "fog")        # weather the visibility question answers Yes to
FORWARD_CAMERAS = ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT")

CAMERA_DIRECTION = {"CAM_FRONT": "front", "CAM_FRONT_LEFT": "front left", "CAM_FRONT_RIGHT": "front right",
                    "CAM_BACK": "back", "CAM_BACK_LEFT": "back left", "CAM_BACK_RIGHT": "back right"}
ORDINALS = ("Firstly", "Secondly", "Thirdly")

# ---------------------------------------------------------------------------------------------- thresholds

STOPPED_MPS = 0.5           # [m/s] below: stopped / stationary
TURN_RAD = math.radians(15.0)   # heading change over future_s above which a road user is turning
SLIGHT_STEER_RAD = math.radians(3.0)  # ego heading change over future_s: above -> slightly steering
STEER_RAD = math.radians(12.0)        # above -> steering
EGO_SPEED_BOUNDS_MPS = (5.0, 10.0, 16.0)  # slowly < 5 <= normal < 10 <= fast < 16 <= very fast [m/s]
LANE_HALF_WIDTH_M = 1.75    # [m] half the ego lane: an object this close laterally (+ its half width) is in path
URGENT_TTC_S = 2.5          # [s] time to collision below which the ego should brake hard
CAUTION_TTC_S = 6.0         # [s] below which it should decelerate
URGENT_GAP_M = 6.0          # [m] bumper gap below which braking is urgent
CAUTION_GAP_M = 20.0        # [m]

# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class QAConfig:
    """How ``adsgen drivelm qa`` samples, renders and asks."""

    cameras: tuple[str, ...] = ("CAM_FRONT",)  # cameras rendered per key frame (image_paths)
    frames: int = 4              # key frames per scenario, at evenly spread times of the run
    scale: float = 0.5           # image size = scale x 1600x900 (tags always in the 1600x900 frame)
    agent: str = "idm"           # agent driving the ego (adsgen.sim.agents spec)
    sim_seed: int = 0            # engine seed of each run
    max_objects: int = 3         # key objects per frame (DriveLM annotates up to about 3)
    min_pixels: int = 120        # visible pixels, counted at 1600x900, for an object to be a key object
    future_s: float = 1.5        # [s] look-ahead for moving status, ego behaviour and moving direction
    choice_seed: int = 0         # seed of the multiple-choice distractors (with the frame token)

    def __post_init__(self) -> None:
        bad = [c for c in self.cameras if c not in CAMERAS]
        if bad or not self.cameras:
            raise ConfigError(f"cameras: unknown {bad}; expected some of {list(CAMERAS)}")
        if self.frames < 1:
            raise ConfigError(f"frames must be >= 1, got {self.frames}")
        if not 0.05 <= self.scale <= 1.0:
            raise ConfigError(f"scale must be in [0.05, 1], got {self.scale}")
        if self.max_objects < 1:
            raise ConfigError(f"max_objects must be >= 1, got {self.max_objects}")


def cameras_option(value: str) -> tuple[str, ...]:
    """'front' -> CAM_FRONT; 'all' -> the six cameras; else a comma list of camera names."""
    v = value.strip()
    if v == "front":
        return ("CAM_FRONT",)
    if v == "all":
        return CAMERAS
    cams = tuple(c.strip().upper() for c in v.split(",") if c.strip())
    bad = [c for c in cams if c not in CAMERAS]
    if bad or not cams:
        raise ConfigError(f"--cameras {value!r}: expected 'front', 'all' or names from {list(CAMERAS)}")
    return cams


# ---------------------------------------------------------------------------------------------- truth


@dataclass
class KeyObjectTruth:
    """One key object of a frame with everything the answers need."""

    object_id: str
    kind: str                    # car | truck | pedestrian | traffic_signal | stop_sign
    camera: str
    tag: str                     # <cN,CAM,x,y> in the 1600x900 frame
    centre_px: tuple[int, int]   # (col, row) of the tagged pixel in the rendered image
    box_full: list[float]        # [x1, y1, x2, y2] in the 1600x900 frame
    depth_m: float               # 75th percentile of the depth map inside the box [m]
    ego_x_m: float               # position in the ego frame: forward [m]
    ego_y_m: float               # left [m]
    speed_mps: float
    status: str | None           # one of MOVING_STATUSES for road users, None for signals
    in_path: bool                # in the ego lane ahead now or within future_s
    ttc_s: float                 # time to collision along the ego path (inf when not closing / not in path)
    gap_m: float                 # bumper gap along the ego path [m] (inf when not in path)
    signal_state: str | None = None
    description: str = ""
    closing_mps: float = math.nan  # closing speed along the ego's heading now [m/s] (NaN for traffic elements)
    braking: bool = False          # brake lights on

    @property
    def is_traffic_element(self) -> bool:
        return self.kind in ("traffic_signal", "stop_sign")


@dataclass
class FrameTruth:
    """A rendered key frame: its frames per camera (kept in memory for checks) and its key objects."""

    token: str
    time_s: float
    frames: dict                 # camera -> adsgen.render.Frame
    objects: list[KeyObjectTruth]
    ego_behaviour: str           # one of EGO_BEHAVIOURS
    image_paths: dict[str, str] = field(default_factory=dict)
    signal_in_view: str | None = None  # state of a traffic signal a forward camera sees (None: none in view)
    pedestrian_in_view: bool = False   # a pedestrian a forward camera sees (at least min_pixels)
    light: str = "daylight"            # the scenario's light factor
    weather: str = "clear"             # the scenario's weather factor


def _to_ego(ego, x: float, y: float) -> tuple[float, float]:
    c, s = math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)
    dx, dy = x - ego.x_m, y - ego.y_m
    return c * dx + s * dy, -s * dx + c * dy


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def moving_status(now, later) -> str:
    """One of the challenge's statuses from a road user's state now and ``future_s`` later."""
    if now.speed_mps < STOPPED_MPS and later.speed_mps < STOPPED_MPS:
        return "Stopped."
    turn = _wrap(later.yaw_rad - now.yaw_rad)
    if turn > TURN_RAD:
        return "Turn left."
    if turn < -TURN_RAD:
        return "Turn right."
    return "Going ahead."


def ego_behaviour(now, later) -> str:
    """The ego's behaviour phrase from its heading change and mean speed over the look-ahead."""
    speed = 0.5 * (now.speed_mps + later.speed_mps)
    if speed < STOPPED_MPS:
        return ego_behaviour_phrase(EGO_STEERING[0], None)
    turn = _wrap(later.yaw_rad - now.yaw_rad)
    side = "left" if turn > 0 else "right"
    if abs(turn) < SLIGHT_STEER_RAD:
        steering = "going straight"
    elif abs(turn) < STEER_RAD:
        steering = f"slightly steering to the {side}"
    else:
        steering = f"steering to the {side}"
    k = sum(speed >= b for b in EGO_SPEED_BOUNDS_MPS)
    words = {0: "driving slowly", 1: "driving with normal speed", 2: "driving fast", 3: "driving very fast"}[k]
    assert words in EGO_SPEEDS and steering in EGO_STEERING
    return ego_behaviour_phrase(steering, words)


def _path_metrics(ego, obj_now, obj_later, ego_later) -> tuple[bool, float, float]:
    """(in path, time to collision [s], bumper gap [m]) of a road user along the ego's lane."""
    half = LANE_HALF_WIDTH_M + 0.5 * obj_now.width_m
    fx, fy = _to_ego(ego, obj_now.x_m, obj_now.y_m)
    lx, ly = _to_ego(ego_later, obj_later.x_m, obj_later.y_m)
    in_now = fx > 0 and abs(fy) < half
    in_later = lx > 0 and abs(ly) < half
    if not (in_now or in_later):
        return False, math.inf, math.inf
    gap = max(0.0, (fx if in_now else lx) - 0.5 * (ego.length_m + obj_now.length_m))
    # the label looks ahead: the closing speed now or future_s later (the ego holding its speed), whichever is
    # larger, so a lead that brakes hard is urgent before the gap has shrunk (the prompt says "braking")
    closing = max(closing_speed_mps(ego, obj_now), closing_speed_mps(ego, obj_later))
    ttc = gap / closing if closing > 0.1 else math.inf
    return True, ttc, gap


def closing_speed_mps(ego, obj) -> float:
    """How fast the gap to ``obj`` shrinks along the ego's heading [m/s] (negative: it pulls away). The QA's
    depth words (key_object_infos' closing_mps) and the driving agent's use this one function."""
    return ego.speed_mps - obj.speed_mps * math.cos(_wrap(obj.yaw_rad - ego.yaw_rad))


def _urgency(o: KeyObjectTruth) -> int:
    """2: brake hard, 1: slow down, 0: carry on."""
    if o.is_traffic_element:
        return 1 if o.signal_state in ("red", "yellow") or o.kind == "stop_sign" else 0
    if not o.in_path:
        return 0
    if o.ttc_s < URGENT_TTC_S or o.gap_m < URGENT_GAP_M:
        return 2
    if o.ttc_s < CAUTION_TTC_S or o.gap_m < CAUTION_GAP_M:
        return 1
    return 0


# ---------------------------------------------------------------------------------------------- answers


def object_noun(kind: str) -> str:
    """The noun a road user of a renderer kind is called in descriptions ('car' -> 'sedan'); the agent's depth
    words use it too, so they name objects as the QA it was trained on did."""
    return {"pedestrian": "pedestrian", "truck": "truck"}.get(kind, "sedan")


def _kind_words(o: KeyObjectTruth) -> str:
    if o.kind == "traffic_signal":
        return f"{o.signal_state or 'dark'} light"
    if o.kind == "stop_sign":
        return "stop sign"
    colour = paint_of(o.object_id, o.kind).name   # the colour the renderer painted it in
    if o.kind == "pedestrian":
        return f"pedestrian in a {colour} shirt"
    return f"{colour} {object_noun(o.kind)}"


def _state_words(o: KeyObjectTruth) -> str:
    if o.is_traffic_element:
        return "a traffic sign" if o.kind == "stop_sign" else f"a {o.signal_state or 'dark'} traffic light"
    return {"Stopped.": "stationary", "Turn left.": "turning left", "Turn right.": "turning right",
            "Going ahead.": "going ahead"}.get(o.status or "", "going ahead")


_ACTION = {2: "brake suddenly", 1: "decelerate gradually without braking", 0: "keep going at the same speed"}


def _action_words(o: KeyObjectTruth) -> str:
    if o.kind == "traffic_signal" and o.signal_state == "red":
        return "slow down and stop before the stop line"
    if o.kind == "stop_sign":
        return "slow down and stop at the stop line"
    return _ACTION[_urgency(o)]


def _reason_words(o: KeyObjectTruth) -> str:
    if o.is_traffic_element:
        return "to follow the traffic rules"
    if o.in_path and _urgency(o) > 0:
        return "to avoid a collision with it"
    return "that there is no safety issue"


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def important_objects_answer(objs: list[KeyObjectTruth]) -> str:
    parts = [f"a {o.description[:-1].lower() if o.description else _kind_words(o)} to the "
             f"{CAMERA_DIRECTION[o.camera]} of the ego vehicle" for o in objs]
    ids = _join([o.tag for o in objs])
    tail = f"The ID of this object is {ids}." if len(objs) == 1 else f"The IDs of these objects are {ids}."
    return f"There is {_join(parts)}. {tail}"


def notice_answer(objs: list[KeyObjectTruth]) -> str:
    return " ".join(f"{ORDINALS[k]} notice that {o.tag}. The object is {_state_words(o)}, so the ego vehicle "
                    f"should {_action_words(o)}." for k, o in enumerate(objs[: len(ORDINALS)]))


def actions_answer(o: KeyObjectTruth) -> str:
    return f"The action is to {_action_words(o)}. The reason is {_reason_words(o)}, high probability."


def collision_answer(o: KeyObjectTruth) -> str:
    if o.is_traffic_element:
        return "No such action will lead to a collision."
    if o.in_path and o.ego_x_m > 0:
        return "Accelerating and going straight can lead to a collision."
    if o.ego_x_m < 0:
        return "Braking suddenly can lead to a collision."
    side = "left" if o.ego_y_m > 0 else "right"
    return f"Changing to the {side} lane can lead to a collision."


def safe_actions_answer(objs: list[KeyObjectTruth]) -> str:
    worst = max((_urgency(o) for o in objs), default=0)
    red = any(o.kind == "traffic_signal" and o.signal_state == "red" for o in objs)
    if worst == 2:
        return "Brake suddenly, decelerate gradually without braking."
    if red:
        return "Decelerate gradually without braking, stop before the stop line."
    if worst == 1:
        return "Decelerate gradually without braking, keep a safe distance."
    return "Keep going at the same speed, decelerate gradually without braking."


# ---------------------------------------------------------------------------------------------- QA of a frame


def _qa(template: str, answer: str, tag: str = "", question: str | None = None) -> tuple[str, QAItem]:
    category, text, metric = TEMPLATES[template]
    q = question if question is not None else text.format(tag=tag)
    return category, QAItem(question=q, answer=answer, tags=[metric], extra={"template": template})


def frame_qa(truth: FrameTruth, rng: random.Random) -> dict[str, list[QAItem]]:
    """The questions of one key frame, in category order, with answers and challenge tags."""
    objs = truth.objects
    items: list[tuple[str, QAItem]] = [_qa("important_objects", important_objects_answer(objs))]
    for o in objs:
        if o.status is not None:
            q, a = make_multiple_choice(TEMPLATES["moving_status"][1].format(tag=o.tag), o.status, MOVING_STATUSES,
                                        rng)
            items.append(_qa("moving_status", a, question=q))
    items.append(_qa("notice_order", notice_answer(objs)))
    for o in objs:
        items.append(_qa("moving_direction", YES if o.in_path else NO, o.tag))
        items.append(_qa("traffic_sign", YES if o.is_traffic_element else NO, o.tag))
    items.append(_qa("actions", actions_answer(objs[0]), objs[0].tag))
    items.append(_qa("collision_actions", collision_answer(objs[0]), objs[0].tag))
    items.append(_qa("safe_actions", safe_actions_answer(objs)))
    q, a = make_multiple_choice(EGO_BEHAVIOUR_QUESTION, truth.ego_behaviour, EGO_BEHAVIOURS, rng)
    items.append(_qa("ego_behaviour", a, question=q))
    items.extend(scene_qa(truth))
    qa: dict[str, list[QAItem]] = {"perception": [], "prediction": [], "planning": [], "behavior": []}
    for cat, item in items:
        qa[cat].append(item)
    return qa


def signal_state_question() -> str:
    """The signal question with its four options in the fixed order of ``SIGNAL_OPTIONS``."""
    opts = " ".join(f"{letter}. {text}" for letter, text in zip(LETTERS, SIGNAL_OPTIONS.values(), strict=False))
    return f"{TEMPLATES['signal_state'][1]}{OPTIONS_PROMPT} {opts}"


def scene_qa(truth: FrameTruth) -> list[tuple[str, QAItem]]:
    """Questions the image answers and the text does not: signal state, pedestrian, night, visibility."""
    signal_letter = LETTERS[list(SIGNAL_OPTIONS).index(truth.signal_in_view)]
    return [_qa("signal_state", signal_letter, question=signal_state_question()),
            _qa("pedestrian_ahead", YES if truth.pedestrian_in_view else NO),
            _qa("night", YES if truth.light in DARK_LIGHTS else NO),
            _qa("poor_visibility", YES if truth.weather in POOR_VISIBILITY_WEATHER else NO)]


def in_view(frames: dict, kind: str, config: QAConfig) -> bool:
    """Whether a forward camera sees an object of ``kind`` with at least ``min_pixels`` (at 1600x900)."""
    return any(vis.kind == kind and vis.pixels >= config.min_pixels * frame.scale ** 2
               for cam, frame in frames.items() if cam in FORWARD_CAMERAS for vis in frame.objects)


def key_object_infos(objs: list[KeyObjectTruth]) -> dict[str, KeyObject]:
    out = {}
    for o in objs:
        if o.is_traffic_element:
            category, status = "Traffic element", None
        else:
            category = "Pedestrian" if o.kind == "pedestrian" else "Vehicle"
            status = "Stationary" if o.status == "Stopped." else "Moving"
        out[o.tag] = KeyObject(category=category, status=status, visual_description=o.description,
                               bbox_2d=[round(v, 1) for v in o.box_full],
                               extra={"depth_m": round(o.depth_m, 2)} if o.is_traffic_element else
                               {"depth_m": round(o.depth_m, 2), "closing_mps": round(o.closing_mps, 2),
                                "braking": o.braking})
    return out


# ---------------------------------------------------------------------------------------------- rendering


def token(*parts: object) -> str:
    """A 32-hex token (DriveLM's scene and frame ids are nuScenes tokens of this shape)."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def _box_percentile(depth: np.ndarray, box: tuple[float, float, float, float], q: float = 75.0) -> float:
    """q-th percentile of the finite depth values inside a pixel box (x1, y1, x2, y2) [m]."""
    x1, y1, x2, y2 = (int(math.floor(box[0])), int(math.floor(box[1])), int(math.ceil(box[2])),
                      int(math.ceil(box[3])))
    patch = depth[max(0, y1):y2, max(0, x1):x2]                          # (h, w)
    vals = patch[np.isfinite(patch)]
    return float(np.percentile(vals, q)) if vals.size else math.inf


def _tag_pixel(frame, vis) -> tuple[int, int]:
    """(col, row) of the object's own pixel at its renderer centre (the nearest own pixel if needed)."""
    mask = frame.mask_of(vis.id)                                        # (H, W) bool
    col = min(int(math.floor(vis.center_px[0])), frame.width - 1)
    row = min(int(math.floor(vis.center_px[1])), frame.height - 1)
    if mask[row, col]:
        return col, row
    rows, cols = np.nonzero(mask)
    k = int(np.argmin((cols + 0.5 - vis.center_px[0]) ** 2 + (rows + 0.5 - vis.center_px[1]) ** 2))
    return int(cols[k]), int(rows[k])


def _candidates(snap, later, ego_later, frames: dict, config: QAConfig) -> list[KeyObjectTruth]:
    """Every object some camera sees well enough, in its best camera, ranked by importance."""
    states = {a.id: a for a in snap.actors}
    states_later = {a.id: a for a in later.actors}
    best: dict[str, tuple] = {}
    for cam, frame in frames.items():
        for vis in frame.objects:
            if vis.pixels < config.min_pixels * frame.scale ** 2:
                continue
            if vis.kind in ("traffic_signal", "stop_sign") and cam.startswith("CAM_BACK"):
                continue  # its state is the ego's approach, which the ego has passed: not a key object
            if vis.id not in best or vis.pixels > best[vis.id][1].pixels:
                best[vis.id] = (cam, vis)
    out = []
    for oid, (cam, vis) in best.items():
        frame = frames[cam]
        col, row = _tag_pixel(frame, vis)
        box_full = [v / frame.scale for v in vis.box_px]
        depth = _box_percentile(frame.depth, vis.box_px)
        if oid in states:
            s, sl = states[oid], states_later.get(oid, states[oid])
            fx, fy = _to_ego(snap.ego, s.x_m, s.y_m)
            in_path, ttc, gap = _path_metrics(snap.ego, s, sl, ego_later)
            truth = KeyObjectTruth(oid, s.kind, cam, "", (col, row), box_full, depth, fx, fy, s.speed_mps,
                                   moving_status(s, sl), in_path, ttc, gap,
                                   closing_mps=closing_speed_mps(snap.ego, s), braking=s.braking)
        else:  # traffic signal or stop sign: scenery
            truth = KeyObjectTruth(oid, vis.kind, cam, "", (col, row), box_full, depth, vis.distance_m, 0.0, 0.0,
                                   None, False, math.inf, math.inf,
                                   signal_state=snap.signal_state if vis.kind == "traffic_signal" else None)
        out.append(truth)  # its tag is set after ranking (the index is its rank)
    out.sort(key=lambda o: (-_urgency(o), not o.in_path, o.depth_m, o.object_id))
    return out[: config.max_objects]


def render_keyframes(scenario, config: QAConfig, scene_token: str, image_dir: Path | None,
                     rel_root: Path | None = None) -> list[FrameTruth]:
    """Simulate one scenario, render its key frames and extract their key objects (frames without a
    key object are dropped). Images are written under ``image_dir`` when given."""
    times = [scenario.horizon_s * (k + 0.5) / config.frames for k in range(config.frames)]
    backend = BuiltinBackend()
    try:
        snaps = backend.snapshots(scenario, get_agent(config.agent), config.sim_seed,
                                  times + [t + config.future_s for t in times])
    finally:
        backend.close()
    now, later = snaps[: len(times)], snaps[len(times):]
    out: list[FrameTruth] = []
    seen_times: set[float] = set()
    for snap, fut in zip(now, later, strict=True):
        if round(snap.time_s, 3) in seen_times:  # the run ended before this time: same last step
            continue
        seen_times.add(round(snap.time_s, 3))
        frames = {cam: render(snap, cam, config.scale) for cam in config.cameras}
        objs = _candidates(snap, fut, fut.ego, frames, config)
        if not objs:
            continue
        for k, o in enumerate(objs, start=1):
            x_full = (o.centre_px[0] + 0.5) / frames[o.camera].scale
            y_full = (o.centre_px[1] + 0.5) / frames[o.camera].scale
            o.tag = format_object_tag(k, o.camera, x_full, y_full)
            o.description = _kind_words(o)[:1].upper() + _kind_words(o)[1:] + "."
        ftok = token(scene_token, f"{snap.time_s:.3f}")
        factors = scenario.factors
        truth = FrameTruth(ftok, snap.time_s, frames, objs, ego_behaviour(snap.ego, fut.ego),
                           signal_in_view=snap.signal_state if in_view(frames, "traffic_signal", config) else None,
                           pedestrian_in_view=in_view(frames, "pedestrian", config),
                           light=factors.light, weather=factors.weather)
        for cam, frame in frames.items():
            rel = Path("samples") / cam / f"{ftok}.png"
            truth.image_paths[cam] = rel.as_posix()
            if image_dir is not None:
                save_png(frame, image_dir / rel)
        out.append(truth)
    return out


def scene_from_frames(frames: list[FrameTruth], description: str, meta: dict, choice_seed: int) -> Scene:
    key_frames = {}
    for ft in frames:
        rng = random.Random(f"{choice_seed}|{ft.token}")
        key_frames[ft.token] = KeyFrame(
            qa=frame_qa(ft, rng), image_paths=dict(ft.image_paths), key_object_infos=key_object_infos(ft.objects),
            extra={"adsgen": {"time_s": round(ft.time_s, 3)}})
    return Scene(key_frames=key_frames, scene_description=description, extra={"adsgen": meta})


def split_scenes(scene_ids: Sequence[str], test_share: float, split_seed: int) -> set[str]:
    """The held-out (test) scenes: a seeded shuffle, round(share x n) of them, at least one when share > 0
    and there are two or more scenes."""
    if not 0.0 <= test_share < 1.0:
        raise ConfigError(f"--test-share must be in [0, 1), got {test_share}")
    ids = sorted(scene_ids)
    random.Random(split_seed).shuffle(ids)
    n = round(test_share * len(ids))
    if test_share > 0 and len(ids) >= 2:
        n = max(1, min(n, len(ids) - 1))
    return set(ids[:n])

