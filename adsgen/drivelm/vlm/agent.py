"""The VLM in the driver's seat: an Agent that asks DriveLM questions and drives on the answers.

Every ``decision_period_s`` of simulated time, for each running ego, the agent renders the camera(s) of the
current world snapshot (adsgen.render), and asks two questions in the DriveLM wording that
``adsgen drivelm qa`` trains on, with a depth sentence for the objects the camera sees (the renderer's 75th
percentile depth):

- planning: "In this scenario, what are safe actions to take for the ego vehicle?" -> a manoeuvre
  (brake hard / stop before the stop line / slow down / keep going), from the answer's phrases;
- behaviour: "Predict the behavior of the ego vehicle." (4 options) -> a speed class that can cap the
  target speed ("not moving": stop; "driving slowly": at most 5 m/s).

Between decisions a longitudinal controller tracks the manoeuvre's target speed within its deceleration
limit. An answer that cannot be parsed keeps the previous manoeuvre and is counted (``run_extra``).

Answerers: ``VLMAnswerer`` (a LLaVA + adapter, or the tiny LLaVA) and ``OracleAnswerer``, which answers from
ground truth with the same rules and phrases the QA generator uses, to test the loop without a model.
Registered agent specs: ``vlm:ADAPTER_DIR``, ``vlm:tiny`` and ``oracle``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from PIL import Image

from adsgen.drivelm.challenge.choices import (
    EGO_BEHAVIOUR_QUESTION,
    EGO_NOT_MOVING,
    OPTIONS_PROMPT,
    ego_behaviour_phrase,
)
from adsgen.drivelm.challenge.formats import CAMERAS, format_object_tag
from adsgen.drivelm.progress import Phases, rich_phases, stderr_is_terminal
from adsgen.drivelm.qa.generation import (
    CAUTION_GAP_M,
    CAUTION_TTC_S,
    EGO_SPEED_BOUNDS_MPS,
    LANE_HALF_WIDTH_M,
    Q_SAFE,
    URGENT_GAP_M,
    URGENT_TTC_S,
    closing_speed_mps,
    object_noun,
)
from adsgen.drivelm.vlm.adapters import read_card
from adsgen.drivelm.vlm.budget import PromptBudget, context_length
from adsgen.drivelm.vlm.depth import (
    DEPTH_SIM,
    DEPTHS_WITHOUT_MODEL,
    TAG_FRAME_PX,
    DepthEstimator,
    ObjectDepth,
    depth_sentence,
    tag_window,
)
from adsgen.drivelm.vlm.inputs import MAX_DEPTH_OBJECTS, TAG_NOUN
from adsgen.drivelm.vlm.model import prompt_text
from adsgen.drivelm.vlm.predict import generate_texts, load_for_inference, most_likely_option
from adsgen.drivelm.vlm.prompts import MC, OPEN, exact_answer, options_of, user_text
from adsgen.drivelm.vlm.tiny import TINY
from adsgen.errors import BackendError, ConfigError
from adsgen.render import render
from adsgen.sim.agents import SIGNAL_RED, SIGNAL_YELLOW, Action, Observation, register_agent
from adsgen.sim.engine import BuiltinBackend

DECISION_PERIOD_S = 0.5  # [s] simulated time between questions
LOOKAHEAD_S = 1.5  # [s] constant-velocity look-ahead of the oracle (the QA generator's future_s)
CONFLICT_HORIZON_S = 4.0  # [s] the oracle also predicts box overlaps (constant velocities) up to this far
CONFLICT_STEP_S = 0.05  # [s] (closing speeds reach 40 m/s: coarser steps jump over a car)
CONFLICT_MARGIN_M = 0.5  # [m] added to each half width/length when predicting an overlap
MAX_YAW_RATE_RPS = 0.8  # [rad/s] turn rates estimated between decisions are clipped to this
RENDER_SCALE = 0.25  # image size as a fraction of 1600x900 (the tiny model resizes to 64 px anyway)
SPEED_GAIN_PER_S = 1.0  # [1/s] target-speed tracking gain
MAX_ACCEL_MPS2 = 2.0  # [m/s2]
SLOW_CAP_MPS = EGO_SPEED_BOUNDS_MPS[0]  # [m/s] "driving slowly" is below this
STOP_MARGIN_M = 1.0  # [m] stop this far before the stop line


@dataclass(frozen=True)
class Manoeuvre:
    """What the ego does until the next decision."""

    name: str
    speed_factor: float
    """Target speed as a fraction of the scenario's ego speed."""
    max_decel_mps2: float
    """Deceleration limit [m/s2] while tracking the target."""


EGO_PLANS = {  # the ego plans the VLM agent can drive on, by the word its answer names
    "brake": Manoeuvre("brake", 0.0, 8.0),
    "stop_line": Manoeuvre("stop_line", 0.0, 6.0),
    "slow": Manoeuvre("slow", 0.5, 3.0),
    "cruise": Manoeuvre("cruise", 1.0, 2.0),
    # the fallback when no answer was understood yet: slow down gently, on to a stop while nothing is understood
    "caution": Manoeuvre("caution", 0.0, 2.0),
}
# phrases of DriveLM's safe-action answers -> manoeuvre; the first two win wherever they appear,
# otherwise the phrase that comes first in the answer decides
_PRIORITY = (("brake suddenly", "brake"), ("stop before the stop line", "stop_line"))
_ORDERED = (("decelerate gradually", "slow"), ("keep a safe distance", "slow"), ("slow down", "slow"),
            ("keep going at the same speed", "cruise"), ("accelerate", "cruise"), ("stop", "stop_line"))
# the behaviour question's fixed options (straight driving at each speed class, and standing still)
BEHAVIOUR_OPTIONS = (ego_behaviour_phrase("going straight", "driving fast"),
                     ego_behaviour_phrase("going straight", "driving with normal speed"),
                     ego_behaviour_phrase("going straight", "driving slowly"), EGO_NOT_MOVING)
BEHAVIOUR_QUESTION = (EGO_BEHAVIOUR_QUESTION + OPTIONS_PROMPT + " " +
                      " ".join(f"{letter}. {text}" for letter, text in zip("ABCD", BEHAVIOUR_OPTIONS, strict=True)))


def parse_plan(answer: str) -> Manoeuvre | None:
    """The manoeuvre a safe-actions answer asks for (None when no known phrase is in it)."""
    text = answer.lower()
    for phrase, name in _PRIORITY:
        if phrase in text:
            return EGO_PLANS[name]
    hits = [(text.find(p), name) for p, name in _ORDERED if re.search(rf"\b{re.escape(p)}\b", text)]
    if not hits:
        return None
    return EGO_PLANS[min(hits)[1]]


def parse_behaviour(answer: str) -> str | None:
    """'stop', 'slow' or 'free' from the behaviour answer (letter or phrase); None when unparsable."""
    letter = exact_answer(answer, BEHAVIOUR_QUESTION)
    text = options_of(BEHAVIOUR_QUESTION).get(letter, answer).lower()
    if "not moving" in text:
        return "stop"
    if "driving slowly" in text:
        return "slow"
    if re.search(r"driving (very fast|fast|with normal speed)", text):
        return "free"
    return None


@dataclass
class Question:
    """One question to one ego at one decision."""

    row: int
    text: str
    """The user's text (depth sentence + question)."""
    question: str
    """The bare question (for answer reduction)."""
    images: list[Any]
    """PIL images of the rendered cameras (empty for answerers that need none)."""
    obs: Observation
    """Ground truth of the step (only the oracle reads it)."""
    cameras: list[str] = field(default_factory=list)
    """The camera of each image."""


class Answerer(Protocol):
    needs_images: bool

    def answer(self, questions: Sequence[Question]) -> list[str]:
        """One answer text per question."""


# ------------------------------------------------------------------------------------------------ oracle


def _row_urgency(obs: Observation, i: int, yaw_rate: np.ndarray | None = None) -> int:
    """2: brake hard, 1: slow down, 0: carry on.

    The QA generator's rule (in-path road users now and LOOKAHEAD_S ahead: time to collision and gap),
    plus a predicted overlap of the two boxes within CONFLICT_HORIZON_S at constant speeds and turn rates
    (``yaw_rate`` (A,) [rad/s] per road user, 0 when not given), which catches road users crossing from the
    side and turning across the ego's path.
    """
    ex, ey, eyaw, ev = obs.ego_x_m[i], obs.ego_y_m[i], obs.ego_yaw_rad[i], obs.ego_speed_mps[i]
    c, s = math.cos(eyaw), math.sin(eyaw)
    ex2, ey2 = ex + ev * c * LOOKAHEAD_S, ey + ev * s * LOOKAHEAD_S
    worst = 0
    t = np.arange(0.0, CONFLICT_HORIZON_S + 1e-9, CONFLICT_STEP_S)  # (T,) [s]
    for j in np.flatnonzero(obs.actor_active[i]):
        t_hit = _overlap_time(obs, i, int(j), t, 0.0 if yaw_rate is None else float(yaw_rate[j]))
        if t_hit < URGENT_TTC_S:
            return 2
        if t_hit < math.inf:
            worst = 1
        ax, ay, ayaw, av = (obs.actor_x_m[i, j], obs.actor_y_m[i, j], obs.actor_yaw_rad[i, j],
                            obs.actor_speed_mps[i, j])
        ax2, ay2 = ax + av * math.cos(ayaw) * LOOKAHEAD_S, ay + av * math.sin(ayaw) * LOOKAHEAD_S
        half = LANE_HALF_WIDTH_M + 0.5 * obs.actor_width_m[i, j]
        fx, fy = (ax - ex) * c + (ay - ey) * s, -(ax - ex) * s + (ay - ey) * c  # [m] ego frame now
        lx, ly = (ax2 - ex2) * c + (ay2 - ey2) * s, -(ax2 - ex2) * s + (ay2 - ey2) * c  # [m] ego frame later
        in_now, in_later = fx > 0 and abs(fy) < half, lx > 0 and abs(ly) < half
        if not (in_now or in_later):
            continue
        gap = max(0.0, (fx if in_now else lx) - 0.5 * (obs.ego_length_m[i] + obs.actor_length_m[i, j]))
        closing = ev - av * math.cos(ayaw - eyaw)
        ttc = gap / closing if closing > 1e-3 else math.inf
        if ttc < URGENT_TTC_S or gap < URGENT_GAP_M:
            return 2
        if ttc < CAUTION_TTC_S or gap < CAUTION_GAP_M:
            worst = 1
    return worst


def _overlap_time(obs: Observation, i: int, j: int, t: np.ndarray, yaw_rate: float = 0.0) -> float:
    """First time [s] in ``t`` at which ego and actor j boxes overlap, the ego at constant velocity and the
    actor at constant speed and turn rate ``yaw_rate`` [rad/s] (inf if never)."""
    eyaw, ev = obs.ego_yaw_rad[i], obs.ego_speed_mps[i]
    ayaw, av = obs.actor_yaw_rad[i, j], obs.actor_speed_mps[i, j]
    yaw_t = ayaw + yaw_rate * t  # (T,) [rad]
    if abs(yaw_rate) > 1e-3:  # on a circle
        ax_t = av / yaw_rate * (np.sin(yaw_t) - math.sin(ayaw))
        ay_t = -av / yaw_rate * (np.cos(yaw_t) - math.cos(ayaw))
    else:
        ax_t, ay_t = t * av * math.cos(ayaw), t * av * math.sin(ayaw)
    dx = obs.actor_x_m[i, j] - obs.ego_x_m[i] + ax_t - t * ev * math.cos(eyaw)  # (T,) [m]
    dy = obs.actor_y_m[i, j] - obs.ego_y_m[i] + ay_t - t * ev * math.sin(eyaw)  # (T,) [m]
    c, s = math.cos(eyaw), math.sin(eyaw)
    lon, lat = dx * c + dy * s, -dx * s + dy * c  # (T,) [m] in the ego frame
    rel = yaw_t - eyaw
    a_len, a_wid = obs.actor_length_m[i, j], obs.actor_width_m[i, j]
    ext_lon = 0.5 * (np.abs(np.cos(rel)) * a_len + np.abs(np.sin(rel)) * a_wid)  # actor's half extent along ego
    ext_lat = 0.5 * (np.abs(np.sin(rel)) * a_len + np.abs(np.cos(rel)) * a_wid)
    hit = (np.abs(lon) < 0.5 * obs.ego_length_m[i] + ext_lon + CONFLICT_MARGIN_M) & \
        (np.abs(lat) < 0.5 * obs.ego_width_m[i] + ext_lat + CONFLICT_MARGIN_M)
    if lon[0] < -0.5 * obs.ego_length_m[i]:  # behind the ego: braking would not help
        return math.inf
    return float(t[np.argmax(hit)]) if hit.any() else math.inf


def oracle_safe_actions(obs: Observation, i: int, yaw_rate: np.ndarray | None = None) -> str:
    """The safe-actions answer the QA generator would give for row i (same rules and phrases)."""
    urgency = _row_urgency(obs, i, yaw_rate)
    red = obs.signal[i] in (SIGNAL_RED, SIGNAL_YELLOW) and np.isfinite(obs.stop_gap_m[i])
    if urgency == 2:
        return "Brake suddenly, decelerate gradually without braking."
    if red:
        return "Decelerate gradually without braking, stop before the stop line."
    if urgency == 1:
        return "Decelerate gradually without braking, keep a safe distance."
    return "Keep going at the same speed, decelerate gradually without braking."


def oracle_behaviour(obs: Observation, i: int) -> str:
    """The letter of the behaviour option matching the ego's current speed class."""
    v = obs.ego_speed_mps[i]
    if v < 0.5:
        return "D"
    return "C" if v < EGO_SPEED_BOUNDS_MPS[0] else ("B" if v < EGO_SPEED_BOUNDS_MPS[1] else "A")


class OracleAnswerer:
    """Answers the agent's questions from ground truth. Road users' turn rates come from their headings at
    this and the previous decision (so a car turning across the ego's path is predicted on its arc)."""

    needs_images = False

    def __init__(self) -> None:
        self._seen: dict[int, tuple[float, np.ndarray]] = {}  # row -> (t [s], actor headings (A,) [rad])

    def yaw_rates(self, obs: Observation, i: int) -> np.ndarray:
        """(A,) [rad/s] each road user's turn rate since the last decision on row i (0 at the first)."""
        now = (obs.t_s, obs.actor_yaw_rad[i].copy())
        before = self._seen.get(i)
        self._seen[i] = now
        if before is None or not 0.0 < now[0] - before[0] <= 2.0:  # first look, or a new run
            return np.zeros_like(now[1])
        turned = (now[1] - before[1] + math.pi) % (2 * math.pi) - math.pi
        return np.clip(turned / (now[0] - before[0]), -MAX_YAW_RATE_RPS, MAX_YAW_RATE_RPS)

    def answer(self, questions: Sequence[Question]) -> list[str]:
        out = []
        for q in questions:
            if q.question == Q_SAFE:
                out.append(oracle_safe_actions(q.obs, q.row, self.yaw_rates(q.obs, q.row)))
            elif q.question == BEHAVIOUR_QUESTION:
                out.append(oracle_behaviour(q.obs, q.row))
            else:
                out.append("")
        return out


# ------------------------------------------------------------------------------------------------ VLM


@dataclass(frozen=True)
class DriveSettings:
    """How the agent shows the world to its model: as the adapter was trained (its card)."""

    cameras: tuple[str, ...] = ("CAM_FRONT",)
    """Cameras rendered at each decision (the card's trained cameras)."""
    render_scale: float = RENDER_SCALE
    """Rendered image size as a fraction of 1600x900 (the card's training image width / 1600)."""
    depth: str = DEPTH_SIM
    """Depth words: 'none', 'sim' (the renderer's metric depth, objects named as the QA generator names them)
    or a depth-estimation model folder (read around each tag's point, objects named 'object')."""


def settings_from_card(card: Any) -> DriveSettings:
    """The DriveSettings an adapter was trained with (defaults for what an older card does not say)."""
    training = card.training
    cameras = tuple(training.get("trained_cameras") or training.get("cameras") or CAMERAS)
    size = training.get("image_size_px")
    scale = size[0] / TAG_FRAME_PX[0] if size else RENDER_SCALE
    return DriveSettings(cameras=cameras, render_scale=scale, depth=str(training.get("depth", DEPTH_SIM)))


def check_recipe(card: Any, folder: str) -> None:
    """ConfigError when the adapter was not trained on a question the agent asks (its kinds or templates
    filter out the open safe-actions question or the behaviour question)."""
    kinds, templates = card.training.get("answer_kinds"), card.training.get("templates")
    missing = [name for name, kind in (("safe_actions", OPEN), ("ego_behaviour", MC))
               if (kinds is not None and kind not in kinds) or (templates is not None and name not in templates)]
    if missing:
        raise ConfigError(f"adapter {folder} was not trained on the agent's question(s) {missing} (its --kinds "
                          f"{kinds} / --templates {templates}); train on every kind (docs/vlm.md, the driving "
                          "recipe)")


def parse_vlm_spec(arg: str) -> tuple[str, str | None]:
    """'DIR' or 'DIR,base=PATH' (or 'tiny') -> (adapter or 'tiny', base override or None)."""
    adapter, sep, rest = arg.partition(",")
    if not sep:
        return adapter, None
    key, eq, value = rest.partition("=")
    if key != "base" or not eq or not value:
        raise ConfigError(f"agent 'vlm:{arg}': expected vlm:ADAPTER_DIR or vlm:ADAPTER_DIR,base=PATH")
    return adapter, value


class VLMAnswerer:
    """Answers with a LLaVA (an adapter folder, or the untrained tiny model) through adsgen.drivelm.vlm.predict.

    The adapter's card sets the cameras, image size, depth source and answer form (``settings``); its base
    comes from the card (a relative path there is relative to the adapter folder) unless ``base`` is given.
    Each question's images are laid out to fit the model's context (adsgen.drivelm.vlm.budget)."""

    needs_images = True

    def __init__(self, spec: str, batch_size: int = 8, max_new_tokens: int = 32, base: str | None = None):
        corpus = [Q_SAFE, BEHAVIOUR_QUESTION, *BEHAVIOUR_OPTIONS, oracle_safe_actions.__doc__ or ""]
        adapter = None if spec == TINY else spec
        card = read_card(adapter) if adapter is not None else None
        if card is not None:
            check_recipe(card, spec)
        self.settings = settings_from_card(card) if card is not None else DriveSettings()
        with rich_phases(enabled=stderr_is_terminal()) as phases:  # on stderr: a real LLaVA takes about a minute
            self.vlm = load_for_inference(base or (TINY if card is None else None), adapter, lambda: corpus,
                                          progress=phases)
            self._estimator = self._depth_estimator(phases)
        self.budget = PromptBudget(self.vlm.processor, context_length(self.vlm.model))
        self.depth_words = self.settings.depth != "none"
        # an adapter trained to say option texts answers multiple choice by scoring the options
        self.mc_answers = card.training.get("mc_answers", "letter") if card else "letter"
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens

    def _depth_estimator(self, phases: Phases) -> DepthEstimator | None:
        """The depth model the adapter was trained with (None for 'none' / 'sim' depth)."""
        if self.settings.depth in DEPTHS_WITHOUT_MODEL:
            return None
        step = phases("load depth model", 1)
        estimator = DepthEstimator(self.settings.depth)
        step(1)
        return estimator

    def depth_map(self, image: Any) -> Any:
        """The depth model's map of a rendered image (only with a depth-model setting)."""
        assert self._estimator is not None
        return self._estimator.depth_map(image)

    def object_value(self, depth_map: Any, box: tuple[float, float, float, float]) -> float:
        assert self._estimator is not None
        return self._estimator.object_value(depth_map, box)

    @property
    def depth_metric(self) -> bool:
        return self._estimator is None or self._estimator.metric

    def _fit(self, q: Question) -> list[Any]:
        cams = q.cameras if len(q.cameras) == len(q.images) else list(CAMERAS[:len(q.images)])
        _, images = self.budget.fit(f"row {q.row} ({q.question[:40]})",
                                    lambda n: prompt_text(self.vlm.processor, q.text, n), cams, q.images, [], [])
        return images

    def answer(self, questions: Sequence[Question]) -> list[str]:
        out: dict[int, str] = {}
        generate = []
        images = [self._fit(q) for q in questions]
        for k, q in enumerate(questions):
            if self.mc_answers == "text" and options_of(q.question):
                out[k] = most_likely_option(self.vlm, q.text, images[k], q.question)
            else:
                generate.append(k)
        for start in range(0, len(generate), self.batch_size):
            chunk = generate[start:start + self.batch_size]
            texts = generate_texts(self.vlm, [questions[k].text for k in chunk], [images[k] for k in chunk],
                                   self.max_new_tokens)
            out.update(zip(chunk, texts, strict=True))
        return [out[k] for k in range(len(questions))]


# ------------------------------------------------------------------------------------------------ agent


@dataclass
class _RowStats:
    questions: int = 0
    unparsed: int = 0
    fallback_last: int = 0
    fallback_default: int = 0
    manoeuvres: dict[str, int] = field(default_factory=dict)


# what the agent does on a safe-actions answer it cannot parse when no earlier answer was parsed: slow down at
# 2 m/s2 (a gentle braking), on to a stop if nothing is ever understood; never "keep going" on an answer it
# did not understand. (Half speed, DriveLM's "slow down", still ran into the stopped lead car.)
FALLBACK_MANOEUVRE = "caution"


class VLMAgent:
    """Drives each ego on the manoeuvre parsed from the answerer's answers (see the module doc)."""

    def __init__(self, answerer: Answerer, name: str, *, cameras: Sequence[str] | None = None,
                 decision_period_s: float = DECISION_PERIOD_S, render_scale: float | None = None,
                 ask_behaviour: bool = True):
        settings = getattr(answerer, "settings", DriveSettings())  # a VLM answerer: as its adapter was trained
        self.answerer = answerer
        self.name = name
        self.needs_images = answerer.needs_images
        self.renderer = None  # draws obs.render's frames (the simulation does not import a renderer)
        if self.needs_images:

            self.renderer = render
        self.cameras = tuple(cameras or settings.cameras)
        self.decision_period_s = decision_period_s
        self.render_scale = render_scale or settings.render_scale
        self.depth = settings.depth
        self.ask_behaviour = ask_behaviour
        self._manoeuvre: list[Manoeuvre] = []
        self._cap_mps: np.ndarray = np.zeros(0)
        self._stats: list[_RowStats] = []
        self._next_decision_s = 0.0

    def reset(self, scenarios: Sequence[Any], seed: int, *args: Any, **kwargs: Any) -> None:
        n = len(scenarios)
        self._manoeuvre = [EGO_PLANS["cruise"]] * n
        self._decided = [False] * n  # a safe-actions answer was parsed on this row
        self._cap_mps = np.full(n, np.inf)  # (B,) [m/s] speed cap from the behaviour answer
        self._stats = [_RowStats() for _ in range(n)]
        self._next_decision_s = 0.0

    def run_extra(self, row: int) -> dict[str, Any]:
        """Figures for RunResult.extra of batch row ``row`` of the last reset."""
        st = self._stats[row]
        return {"vlm_questions": st.questions, "vlm_unparsed": st.unparsed,
                "vlm_unparsed_share": st.unparsed / st.questions if st.questions else 0.0,
                "vlm_fallback_last": st.fallback_last, "vlm_fallback_default": st.fallback_default,
                "vlm_manoeuvres": dict(st.manoeuvres)}

    def _ask(self, obs: Observation, rows: Sequence[int]) -> None:
        questions: list[Question] = []
        for i in rows:
            images, depths = self._look(obs, i) if self.needs_images else ([], [])
            words = depth_sentence(depths) if getattr(self.answerer, "depth_words", True) else ""
            cams = list(self.cameras) if images else []
            questions.append(Question(i, user_text(Q_SAFE, words), Q_SAFE, images, obs, cams))
            if self.ask_behaviour:
                questions.append(Question(i, user_text(BEHAVIOUR_QUESTION, words), BEHAVIOUR_QUESTION, images, obs,
                                          cams))
        answers = self.answerer.answer(questions)
        for q, text in zip(questions, answers, strict=True):
            st = self._stats[q.row]
            st.questions += 1
            if q.question == Q_SAFE:
                plan = parse_plan(text)
                if plan is None:
                    st.unparsed += 1
                    if self._decided[q.row]:  # keep the last parsed decision
                        st.fallback_last += 1
                    else:
                        st.fallback_default += 1
                        self._manoeuvre[q.row] = EGO_PLANS[FALLBACK_MANOEUVRE]
                    continue
                self._decided[q.row] = True
                self._manoeuvre[q.row] = plan
                st.manoeuvres[plan.name] = st.manoeuvres.get(plan.name, 0) + 1
            else:
                speed = parse_behaviour(text)
                if speed is None:
                    st.unparsed += 1
                    continue
                self._cap_mps[q.row] = {"stop": 0.0, "slow": SLOW_CAP_MPS, "free": np.inf}[speed]

    def _look(self, obs: Observation, i: int) -> tuple[list[Any], list[ObjectDepth]]:
        """The rendered cameras and the depth figures of the nearest visible road users (at most
        MAX_DEPTH_OBJECTS, tagged as adsgen drivelm qa tags them), from the depth source the model was
        trained with."""
        if obs.snapshot is None:
            raise BackendError(f"agent {self.name} needs rendered cameras, but the backend gives no snapshots")
        images, seen = [], []
        for cam in self.cameras:
            frame = obs.render(i, cam, self.render_scale)  # adsgen.render.Frame
            images.append(Image.fromarray(frame.image))
            seen += [(o.depth_m, cam, frame, len(images) - 1, o) for o in frame.objects
                     if o.kind != "traffic_signal" and np.isfinite(o.depth_m)]
        seen.sort(key=lambda t: t[0])
        snap = obs.snapshot(i)
        actors = {a.id: a for a in snap.actors}
        depths = []
        for k, (depth_m, cam, frame, image_k, o) in enumerate(seen[:MAX_DEPTH_OBJECTS], start=1):
            x, y = frame.to_full_resolution(math.floor(o.center_px[0]) + 0.5, math.floor(o.center_px[1]) + 0.5)
            tag = format_object_tag(k, cam, x, y)
            if self.depth in DEPTHS_WITHOUT_MODEL:
                a = actors.get(o.id)
                depths.append(ObjectDepth(tag, object_noun(o.kind), float(depth_m), metric=True,
                                          closing_mps=closing_speed_mps(snap.ego, a) if a else None,
                                          braking=bool(a and a.braking)))
                continue
            image, answerer = images[image_k], self._depth_answerer()
            value = answerer.object_value(self._depth_maps(images, image_k), tag_window(tag, image.width, image.height))
            depths.append(ObjectDepth(tag, TAG_NOUN, value, metric=answerer.depth_metric))
        return images, depths

    def _depth_answerer(self) -> VLMAnswerer:
        """The answerer, which estimates depth itself when its adapter was trained with a depth model."""
        if not isinstance(self.answerer, VLMAnswerer):
            raise ConfigError(f"agent {self.name}: depth {self.depth!r} needs a VLM answerer with its depth model")
        return self.answerer

    def _depth_maps(self, images: list[Any], k: int) -> Any:
        key = (id(images), k)
        if getattr(self, "_map_key", None) != key:
            self._map_key, self._map = key, self._depth_answerer().depth_map(images[k])
        return self._map

    def act(self, obs: Observation) -> Action:
        if obs.t_s + 1e-9 >= self._next_decision_s:
            rows = [int(i) for i in np.flatnonzero(obs.active)]
            if rows:
                self._ask(obs, rows)
            self._next_decision_s = obs.t_s + self.decision_period_s
        v = obs.ego_speed_mps  # (B,)
        accel = np.zeros_like(v)
        for i, m in enumerate(self._manoeuvre):
            target = min(m.speed_factor * obs.ego_desired_speed_mps[i], self._cap_mps[i])
            if m.name == "brake":
                accel[i] = -m.max_decel_mps2
            elif m.name == "stop_line" and np.isfinite(obs.stop_gap_m[i]):
                room = max(obs.stop_gap_m[i] - STOP_MARGIN_M, 0.2)
                accel[i] = -min(v[i] ** 2 / (2 * room), m.max_decel_mps2)
            else:
                accel[i] = np.clip(SPEED_GAIN_PER_S * (target - v[i]), -m.max_decel_mps2, MAX_ACCEL_MPS2)
        return Action(accel_mps2=accel)


# ------------------------------------------------------------------------------------------------ registry


def _vlm_agent(arg: str | None) -> VLMAgent:
    if not arg:
        raise ConfigError("agent 'vlm' needs an adapter folder or 'tiny': vlm:ADAPTER_DIR, "
                          "vlm:ADAPTER_DIR,base=PATH or vlm:tiny")
    adapter, base = parse_vlm_spec(arg)
    return VLMAgent(VLMAnswerer(adapter, base=base), name=f"vlm:{arg}")


def _oracle_agent(arg: str | None) -> VLMAgent:
    if arg:
        raise ConfigError(f"agent 'oracle' takes no argument, got 'oracle:{arg}'")
    return VLMAgent(OracleAnswerer(), name="oracle")


register_agent("vlm", _vlm_agent)
register_agent("oracle", _oracle_agent)


def drive(scenarios: Sequence[Any], agent: VLMAgent, seed: int = 0) -> list[Any]:
    """Run each scenario alone on the builtin engine and add the agent's figures to RunResult.extra."""
    backend = BuiltinBackend()
    try:
        results = []
        for sc in scenarios:
            res = backend.run([sc], agent, seed)[0]
            res.extra.update(agent.run_extra(0))
            results.append(res)
        return results
    finally:
        backend.close()
