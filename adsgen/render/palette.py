"""The colours road users are painted in, with their names: one table for the renderer and for descriptions.

A vehicle's paint (a pedestrian's shirt) is picked from a fixed palette by a hash of its id, so the same
actor has the same colour in every frame, camera and run. ``paint_of`` is what the renderer paints and what
DriveLM's visual descriptions name ("red sedan", "pedestrian in a blue shirt"), so the words always match the
pixels. Colours are display RGB in [0, 1], as the renderer writes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Paint:
    """A named colour."""

    name: str                           # the word a description uses ("red", "silver", ...)
    rgb: tuple[float, float, float]     # display RGB in [0, 1]


VEHICLE_PAINTS: tuple[Paint, ...] = (   # cars and trucks (a truck's cab; its cargo box is grey)
    Paint("red", (0.55, 0.06, 0.05)), Paint("blue", (0.08, 0.18, 0.45)), Paint("silver", (0.75, 0.75, 0.74)),
    Paint("black", (0.06, 0.06, 0.07)), Paint("gray", (0.35, 0.36, 0.38)), Paint("brown", (0.60, 0.45, 0.10)),
    Paint("green", (0.10, 0.32, 0.16)), Paint("white", (0.85, 0.85, 0.85)),
)
SHIRTS: tuple[Paint, ...] = (           # pedestrians' torsos
    Paint("red", (0.60, 0.10, 0.10)), Paint("blue", (0.12, 0.25, 0.55)), Paint("orange", (0.85, 0.55, 0.10)),
    Paint("green", (0.20, 0.45, 0.20)), Paint("silver", (0.75, 0.75, 0.70)), Paint("purple", (0.45, 0.15, 0.45)),
)


def paint_of(object_id: str, kind: str) -> Paint:
    """The colour an object is drawn in: its shirt for a pedestrian, else its body paint (by id hash)."""
    palette = SHIRTS if kind == "pedestrian" else VEHICLE_PAINTS
    h = int.from_bytes(hashlib.blake2b(object_id.encode(), digest_size=4).digest(), "little")
    return palette[h % len(palette)]


def paint_rgb(object_id: str, kind: str) -> np.ndarray:
    """(3,) float64 display RGB of ``paint_of`` (what the renderer's faces take)."""
    return np.asarray(paint_of(object_id, kind).rgb, dtype=np.float64)


__all__ = ["Paint", "SHIRTS", "VEHICLE_PAINTS", "paint_of", "paint_rgb"]
