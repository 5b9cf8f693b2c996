"""OpenDRIVE 1.4 writer for the road templates (``write_opendrive(build_road(spec))``).

The roads' plan-view lines and arcs are written exactly as the templates define them, so the OpenDRIVE
lane centre-lines coincide with the engine's routes (up to the routes' 0.5 m sampling). The engine frame
and the OpenDRIVE inertial frame are the same (x east, y north, right-handed); CARLA's left-handed flip is
done by CARLA itself when it loads the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from adsgen.scenario.geometry import sample_prims
from adsgen.scenario.roads import LaneDef, RoadNetwork, XRoad


def _f(v: float) -> str:
    return f"{v:.9g}"


def _lane(parent: ET.Element, lane: LaneDef, link_pred: bool, link_succ: bool) -> None:
    """One lane; lane links only where the road (or lane section) has a neighbour to link to."""
    el = ET.SubElement(parent, "lane", id=str(lane.id), type=lane.type, level="false")
    link = ET.SubElement(el, "link")
    if lane.pred is not None and link_pred:
        ET.SubElement(link, "predecessor", id=str(lane.pred))
    if lane.succ is not None and link_succ:
        ET.SubElement(link, "successor", id=str(lane.succ))
    a, b, c, d = lane.width
    ET.SubElement(el, "width", sOffset="0", a=_f(a), b=_f(b), c=_f(c), d=_f(d))
    ET.SubElement(el, "roadMark", sOffset="0", type=lane.mark, weight="standard", color="standard",
                  width="0.15" if lane.mark != "none" else "0", laneChange="both")


def _road(root: ET.Element, road: XRoad) -> None:
    el = ET.SubElement(root, "road", name=road.name, length=_f(road.length), id=str(road.id),
                       junction=str(road.junction))
    link = ET.SubElement(el, "link")
    for tag, ref in (("predecessor", road.predecessor), ("successor", road.successor)):
        if ref is not None:
            kind, rid, contact = ref
            attrs = {"elementType": kind, "elementId": str(rid)}
            if kind == "road":
                attrs["contactPoint"] = contact
            ET.SubElement(link, tag, attrs)
    ET.SubElement(ET.SubElement(el, "type", s="0", type="town"), "speed", max="100", unit="km/h")
    pv = ET.SubElement(el, "planView")
    s = 0.0
    for p in road.prims:
        g = ET.SubElement(pv, "geometry", s=_f(s), x=_f(p.x), y=_f(p.y), hdg=_f(p.hdg), length=_f(p.length))
        if abs(p.curvature) < 1e-12:
            ET.SubElement(g, "line")
        else:
            ET.SubElement(g, "arc", curvature=_f(p.curvature))
        s += p.length
    ET.SubElement(ET.SubElement(el, "elevationProfile"), "elevation", s="0", a="0", b="0", c="0", d="0")
    ET.SubElement(el, "lateralProfile")
    lanes = ET.SubElement(el, "lanes")
    pred_road = road.predecessor is not None and road.predecessor[0] == "road"
    succ_road = road.successor is not None and road.successor[0] == "road"
    for k, sec in enumerate(road.sections):
        link_pred = pred_road or k > 0  # within a road, lane sections link to their neighbours
        link_succ = succ_road or k < len(road.sections) - 1
        ls = ET.SubElement(lanes, "laneSection", s=_f(sec.s))
        if sec.left:
            left = ET.SubElement(ls, "left")
            for lane in sorted(sec.left, key=lambda x: -x.id):
                _lane(left, lane, link_pred, link_succ)
        centre = ET.SubElement(ET.SubElement(ls, "center"), "lane", id="0", type="none", level="false")
        ET.SubElement(centre, "link")
        ET.SubElement(centre, "roadMark", sOffset="0", type=sec.center_mark, weight="standard",
                      color="yellow" if sec.center_mark != "none" else "standard",
                      width="0.15" if sec.center_mark != "none" else "0", laneChange="none")
        if sec.right:
            right = ET.SubElement(ls, "right")
            for lane in sorted(sec.right, key=lambda x: -x.id):
                _lane(right, lane, link_pred, link_succ)


def write_opendrive(net: RoadNetwork) -> str:
    """The network as OpenDRIVE 1.4 XML text."""
    pts = np.concatenate([sample_prims(r.prims, 0.0, step_m=5.0)[0] for r in net.roads])  # (n, 2)
    margin = 20.0
    root = ET.Element("OpenDRIVE")
    ET.SubElement(root, "header", revMajor="1", revMinor="4", name=f"adsgen_{net.template}", version="1.00",
                  date="2026-01-01T00:00:00", north=_f(pts[:, 1].max() + margin), south=_f(pts[:, 1].min() - margin),
                  east=_f(pts[:, 0].max() + margin), west=_f(pts[:, 0].min() - margin), vendor="adsgen")
    for road in net.roads:
        _road(root, road)
    if net.connections:
        j = ET.SubElement(root, "junction", id="100", name=f"{net.template}_junction")
        for i, c in enumerate(net.connections):
            conn = ET.SubElement(j, "connection", id=str(i), incomingRoad=str(c.incoming),
                                 connectingRoad=str(c.connecting), contactPoint="start")
            ET.SubElement(conn, "laneLink", {"to": str(c.to_lane), "from": str(c.from_lane)})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def lane_centre(road: XRoad, lane_id: int, s: np.ndarray) -> np.ndarray:
    """Centre-line points (n, 2) of an OpenDRIVE lane at road s (from the lane widths), for checks."""
    t = np.zeros_like(s, dtype=float)
    sign = 1 if lane_id > 0 else -1
    for i, ss in enumerate(s):
        sec = [x for x in road.sections if x.s <= ss + 1e-9][-1]
        lanes = sorted(sec.left if lane_id > 0 else sec.right, key=lambda x: abs(x.id))
        acc = 0.0
        for lane in lanes:
            a, b, c, d = lane.width
            ds = ss - sec.s
            wid = a + b * ds + c * ds**2 + d * ds**3
            if abs(lane.id) == abs(lane_id):
                t[i] = sign * (acc + wid / 2)
                break
            acc += wid
    pts = []
    for ss, tt in zip(s, t, strict=True):
        start = 0.0
        for p in road.prims:
            if ss <= start + p.length + 1e-9:
                q, _ = p.at(np.array([ss - start]), tt)
                pts.append(q[0])
                break
            start += p.length
    return np.array(pts) if pts else np.zeros((0, 2))


__all__ = ["write_opendrive", "lane_centre"]
