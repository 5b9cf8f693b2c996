"""The 3D scene of one snapshot: road users, the traffic signal and street lamps as planar faces.

Vehicles are shaded boxes (a body, a glass cabin or a cargo box, four wheels, head and tail lamps that
light up when braking or in the dark), pedestrians are upright boxes (legs, torso, head), the traffic signal
is a pole with a housing whose lit lamp shows the snapshot's state. Every face carries the instance index of
the object it belongs to (0 for scenery), so the renderer returns a per-pixel instance mask.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from adsgen.render.palette import paint_rgb
from adsgen.sim.snapshot import ObjectState, WorldSnapshot

GLASS = np.array([0.05, 0.07, 0.09])
TYRE = np.array([0.03, 0.03, 0.03])
TROUSERS = np.array([0.10, 0.10, 0.16])
SKIN = np.array([0.62, 0.45, 0.33])
METAL = np.array([0.30, 0.31, 0.32])
SIGNAL_HOUSING = np.array([0.05, 0.05, 0.04])
LAMP_ON = {"red": np.array([3.0, 0.15, 0.08]), "yellow": np.array([3.0, 1.9, 0.1]), "green": np.array([0.1, 2.6, 0.8])}
LAMP_OFF = {"red": np.array([0.12, 0.02, 0.02]), "yellow": np.array([0.12, 0.09, 0.02]),
            "green": np.array([0.02, 0.10, 0.04])}
BRAKE_ON = np.array([3.0, 0.1, 0.05])
TAIL_ON = np.array([0.9, 0.03, 0.02])
TAIL_OFF = np.array([0.30, 0.04, 0.03])
HEAD_ON = np.array([3.0, 2.9, 2.5])
HEAD_OFF = np.array([0.70, 0.70, 0.68])
STREET_LAMP_ON = np.array([3.0, 2.6, 1.8])

STOP_RED = np.array([0.62, 0.05, 0.05])
SIGNAL_KIND = {"signal": "traffic_signal", "stop_sign": "stop_sign"}  # GroundLayers.signal_kind -> object id/kind


@dataclass
class Faces:
    """Planar quads and their per-face attributes, accumulated in chunks (F faces in all)."""

    chunks: list[np.ndarray] = field(default_factory=list)     # each (k, 4, 3) world vertices, outward winding
    albedo: list[np.ndarray] = field(default_factory=list)     # each (k, 3) surface colour
    emissive: list[np.ndarray] = field(default_factory=list)   # each (k, 3) emitted colour (unlit by the scene)
    instance: list[np.ndarray] = field(default_factory=list)   # each (k,) instance index (0 = scenery)
    cull: list[np.ndarray] = field(default_factory=list)       # each (k,) may be back-face culled (closed solids)

    def add(self, quads: np.ndarray, albedo: np.ndarray, instance: int, emissive: np.ndarray | None = None,
            cull: bool = True) -> None:
        """Add one quad (4, 3) or several (k, 4, 3) sharing an instance; colours (3,) or (k, 3)."""
        q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 3)
        k = len(q)
        self.chunks.append(q)
        self.albedo.append(np.broadcast_to(np.asarray(albedo, dtype=np.float64), (k, 3)))
        em = np.zeros(3) if emissive is None else np.asarray(emissive, dtype=np.float64)
        self.emissive.append(np.broadcast_to(em, (k, 3)))
        self.instance.append(np.full(k, instance, dtype=np.int16))
        self.cull.append(np.full(k, cull, dtype=bool))

    def extend(self, other: Faces) -> None:
        for name in ("chunks", "albedo", "emissive", "instance", "cull"):
            getattr(self, name).extend(getattr(other, name))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(quads (F, 4, 3), albedo (F, 3), emissive (F, 3), instance (F,) int16, cull (F,) bool)."""
        if not self.chunks:
            return (np.zeros((0, 4, 3)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, np.int16),
                    np.zeros(0, bool))
        return (np.concatenate(self.chunks), np.concatenate(self.albedo), np.concatenate(self.emissive),
                np.concatenate(self.instance), np.concatenate(self.cull))


def _frame(x: float, y: float, yaw: float):
    c, s = math.cos(yaw), math.sin(yaw)

    def to_world(p: np.ndarray) -> np.ndarray:   # (k, 3) local (x fwd, y left, z up) -> world
        return np.stack([x + c * p[:, 0] - s * p[:, 1], y + s * p[:, 0] + c * p[:, 1], p[:, 2]], axis=1)

    return to_world


_BOX_FACES = {  # corner sign patterns (x, y, z) per face, outward counter-clockwise
    "top": ((-1, -1, 1), (1, -1, 1), (1, 1, 1), (-1, 1, 1)),
    "bottom": ((-1, -1, 0), (-1, 1, 0), (1, 1, 0), (1, -1, 0)),
    "front": ((1, -1, 0), (1, 1, 0), (1, 1, 1), (1, -1, 1)),
    "back": ((-1, 1, 0), (-1, -1, 0), (-1, -1, 1), (-1, 1, 1)),
    "left": ((1, 1, 0), (-1, 1, 0), (-1, 1, 1), (1, 1, 1)),
    "right": ((-1, -1, 0), (1, -1, 0), (1, -1, 1), (-1, -1, 1)),
}
_FACE_NAMES = tuple(_BOX_FACES)
_SIGNS = np.array([_BOX_FACES[n] for n in _FACE_NAMES], dtype=np.float64)   # (6, 4, 3)


# noqa below: a box is its centre, length, width and z range in the object's frame, written per part
def add_box(faces: Faces, to_world, cx: float, cy: float, length: float, width: float, z0: float, z1: float,  # noqa: PLR0913
            colour: np.ndarray | dict[str, np.ndarray], instance: int, skip: tuple[str, ...] = ()) -> None:
    """An axis-aligned box in an object's local frame (centre cx, cy), as up to six world faces."""
    keep = [i for i, n in enumerate(_FACE_NAMES) if n not in skip]
    sg = _SIGNS[keep]                                                          # (k, 4, 3)
    local = np.empty_like(sg)
    local[..., 0] = cx + sg[..., 0] * (length / 2)
    local[..., 1] = cy + sg[..., 1] * (width / 2)
    local[..., 2] = np.where(sg[..., 2] > 0, z1, z0)
    world = to_world(local.reshape(-1, 3)).reshape(-1, 4, 3)
    if isinstance(colour, dict):
        col = np.array([colour[_FACE_NAMES[i]] for i in keep])
    else:
        col = colour
    faces.add(world, col, instance)


def _lamp_quad(faces: Faces, to_world, x: float, y_c: float, z_c: float, w: float, h: float, facing: int,
               emissive: np.ndarray, instance: int) -> None:
    """A small lamp quad just outside a box face at local x, facing +x (facing=1) or -x (facing=-1)."""
    ys = (-1, 1) if facing > 0 else (1, -1)
    local = np.array([[x, y_c + ys[0] * w / 2, z_c - h / 2], [x, y_c + ys[1] * w / 2, z_c - h / 2],
                      [x, y_c + ys[1] * w / 2, z_c + h / 2], [x, y_c + ys[0] * w / 2, z_c + h / 2]])
    faces.add(to_world(local), np.zeros(3), instance, emissive=emissive)


def add_vehicle(faces: Faces, obj: ObjectState, instance: int, lights_on: bool) -> None:
    """A car or truck: body, cabin / cargo box, wheels, head and tail lamps."""
    to_world = _frame(obj.x_m, obj.y_m, obj.yaw_rad)
    L, W, H = obj.length_m, obj.width_m, obj.height_m
    paint = paint_rgb(obj.id, obj.kind)  # (3,) the colour descriptions name (adsgen.render.palette)
    wheel_d = min(0.75, 0.45 * H) if obj.kind != "truck" else 1.0
    for sx in (-1, 1):
        for sy in (-1, 1):
            add_box(faces, to_world, sx * (L / 2 - 0.85 * wheel_d), sy * (W / 2 - 0.12), wheel_d, 0.26,
                    0.0, wheel_d, TYRE, instance)
    if obj.kind == "truck":
        cab_len = min(2.4, 0.3 * L)
        add_box(faces, to_world, L / 2 - cab_len / 2, 0.0, cab_len, W, 0.5, 0.8 * H,
                {"top": paint, "bottom": paint, "front": GLASS, "back": paint,
                 "left": paint, "right": paint}, instance)
        cargo_len = L - cab_len - 0.2
        add_box(faces, to_world, -L / 2 + cargo_len / 2, 0.0, cargo_len, W, 0.7, H, np.array([0.62, 0.62, 0.6]),
                instance)
        lamp_z, rear_x, front_x, front_top = 0.85, -L / 2, L / 2, 0.8 * H
    else:
        belt = 0.58 * H
        add_box(faces, to_world, 0.0, 0.0, L, W, 0.3, belt, paint, instance)
        cab_len, cab_x = 0.5 * L, -0.08 * L
        add_box(faces, to_world, cab_x, 0.0, cab_len, 0.9 * W, belt, H,
                {"top": paint, "bottom": paint, "front": GLASS, "back": GLASS, "left": GLASS, "right": GLASS},
                instance, skip=("bottom",))
        lamp_z, rear_x, front_x, front_top = 0.75 * belt, -L / 2, L / 2, belt
    tail = BRAKE_ON if obj.braking else (TAIL_ON if lights_on else TAIL_OFF)
    head = HEAD_ON if lights_on else HEAD_OFF
    for sy in (-1, 1):
        _lamp_quad(faces, to_world, rear_x - 0.02, sy * (W / 2 - 0.25), lamp_z, 0.3, 0.14, -1, tail, instance)
        _lamp_quad(faces, to_world, front_x + 0.02, sy * (W / 2 - 0.3), min(lamp_z, front_top - 0.1), 0.3, 0.12,
                   1, head, instance)


def add_pedestrian(faces: Faces, obj: ObjectState, instance: int) -> None:
    """An upright person: legs, torso, head (boxes) sized by the object's height and footprint."""
    to_world = _frame(obj.x_m, obj.y_m, obj.yaw_rad)
    H = obj.height_m
    d, w = max(0.25, 0.6 * obj.length_m), max(0.35, obj.width_m)
    add_box(faces, to_world, 0.0, 0.0, 0.7 * d, 0.8 * w, 0.0, 0.47 * H, TROUSERS, instance)
    add_box(faces, to_world, 0.0, 0.0, d, w, 0.47 * H, 0.84 * H, paint_rgb(obj.id, obj.kind), instance)
    add_box(faces, to_world, 0.0, 0.0, 0.55 * d, 0.45 * w, 0.85 * H, H, SKIN, instance)


def add_signal(faces: Faces, x: float, y: float, facing_yaw: float, state: str | None, instance: int) -> None:
    """A signal pole at (x, y) whose lamps face ``facing_yaw``; ``state`` lights red, yellow or green."""
    to_world = _frame(x, y, facing_yaw)
    add_box(faces, to_world, 0.0, 0.0, 0.18, 0.18, 0.0, 3.2, METAL, instance)
    add_box(faces, to_world, 0.0, 0.0, 0.35, 0.42, 3.2, 4.4, SIGNAL_HOUSING, instance)
    for k, colour in enumerate(("red", "yellow", "green")):
        lit = LAMP_ON[colour] if state == colour else LAMP_OFF[colour]
        _lamp_quad(faces, to_world, 0.2, 0.0, 4.2 - 0.38 * k, 0.26, 0.26, 1, lit, instance)


def add_stop_sign(faces: Faces, x: float, y: float, facing_yaw: float, instance: int) -> None:
    """A stop sign: a pole and a red panel (with a white band) facing ``facing_yaw``."""
    to_world = _frame(x, y, facing_yaw)
    add_box(faces, to_world, 0.0, 0.0, 0.08, 0.08, 0.0, 2.1, METAL, instance)
    add_box(faces, to_world, 0.06, 0.0, 0.04, 0.75, 2.1, 2.85, STOP_RED, instance)
    local = np.array([[0.085, -0.3, 2.42], [0.085, 0.3, 2.42], [0.085, 0.3, 2.53], [0.085, -0.3, 2.53]])
    faces.add(to_world(local), np.array([0.9, 0.9, 0.9]), instance)


def add_street_lamp(faces: Faces, x: float, y: float, lit: bool) -> None:
    """A street lamp (scenery): a pole and a glowing head."""
    to_world = _frame(x, y, 0.0)
    add_box(faces, to_world, 0.0, 0.0, 0.2, 0.2, 0.0, 7.5, METAL, 0)
    head = STREET_LAMP_ON if lit else None
    add_box(faces, to_world, 0.0, 0.0, 0.7, 0.5, 7.5, 7.75, METAL if head is None else np.zeros(3), 0)
    if head is not None:
        local = np.array([[-0.35, 0.25, 7.49], [0.35, 0.25, 7.49], [0.35, -0.25, 7.49], [-0.35, -0.25, 7.49]])
        faces.add(to_world(local), np.zeros(3), 0, emissive=head)


@dataclass(frozen=True)
class Instances:
    """Instance index -> object id and kind; index 0 is 'no object'."""

    ids: tuple[str, ...]
    kinds: tuple[str, ...]


_STATIC: dict[int, tuple[object, bool, Faces]] = {}


def static_faces(lamps_m: np.ndarray, lit: bool) -> Faces:
    """Street-lamp faces, built once per lamp array and lit state (they never move)."""
    key = id(lamps_m)
    hit = _STATIC.get(key)
    if hit is not None and hit[0] is lamps_m and hit[1] == lit:
        return hit[2]
    faces = Faces()
    for lx, ly in np.asarray(lamps_m).reshape(-1, 2):
        add_street_lamp(faces, float(lx), float(ly), lit)
    if len(_STATIC) > 16:
        _STATIC.clear()
    _STATIC[key] = (lamps_m, lit, faces)
    return faces


@functools.lru_cache(maxsize=512)
def _local_model(kind: str, oid: str, length: float, width: float, height: float, lights_on: bool,
                 braking: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quads (k, 4, 3), albedo (k, 3), emissive (k, 3)) of a road user in its own frame, built once."""
    local = ObjectState(oid, kind, 0.0, 0.0, 0.0, 0.0, length, width, height, braking)  # type: ignore[arg-type]
    f = Faces()
    if kind == "pedestrian":
        add_pedestrian(f, local, 0)
    else:
        add_vehicle(f, local, 0, lights_on)
    quads, albedo, emissive, _, _ = f.arrays()
    return quads, albedo, emissive


def add_road_user(faces: Faces, obj: ObjectState, instance: int, lights_on: bool) -> None:
    """A vehicle or pedestrian: its cached local model placed at its pose (one transform per object)."""
    quads, albedo, emissive = _local_model(obj.kind, obj.id, obj.length_m, obj.width_m, obj.height_m,
                                           bool(lights_on), bool(obj.braking))
    to_world = _frame(obj.x_m, obj.y_m, obj.yaw_rad)
    world = to_world(quads.reshape(-1, 3)).reshape(-1, 4, 3)                  # (k, 4, 3)
    faces.chunks.append(world)
    faces.albedo.append(albedo)
    faces.emissive.append(emissive)
    faces.instance.append(np.full(len(world), instance, dtype=np.int16))
    faces.cull.append(np.ones(len(world), dtype=bool))


def build_faces(snap: WorldSnapshot, lights_on: bool, signal: tuple[float, float, float] | None,
                lamps_m: np.ndarray, street_lights_lit: bool, skip_ego: bool = True,
                signal_kind: str = "signal") -> tuple[Faces, Instances]:
    """Faces of every road user (the ego too unless skipped), the signal and the street lamps."""
    faces = Faces()
    ids, kinds = [""], [""]
    objs = ([] if skip_ego else [snap.ego]) + list(snap.actors)
    for obj in objs:
        ids.append(obj.id)
        kinds.append(obj.kind)
        add_road_user(faces, obj, len(ids) - 1, lights_on)
    if signal is not None and signal_kind in SIGNAL_KIND:
        ids.append(SIGNAL_KIND[signal_kind])
        kinds.append(SIGNAL_KIND[signal_kind])
        if signal_kind == "signal":
            add_signal(faces, signal[0], signal[1], signal[2], snap.signal_state, len(ids) - 1)
        else:
            add_stop_sign(faces, signal[0], signal[1], signal[2], len(ids) - 1)
    faces.extend(static_faces(lamps_m, street_lights_lit))
    return faces, Instances(tuple(ids), tuple(kinds))
