"""A per-scenario, pure-Python loop implementation of the builtin engine and the IDM + AEB agent.

The baseline of ``adsgen bench sim``: the same physics, controllers, sensing and metrics as
``adsgen.sim.engine`` and ``adsgen.sim.agents.idm``, written as plain Python floats and ``math`` in a
loop over scenarios, steps and actors -- how one would write the simulator without batching. It reuses
the engine's static preparation (``compile_batch``: route tables, sizes, manoeuvre codes) and checks
nothing the engine does not. A test holds both to the same results. Its metrics are computed here
independently (scalar Python, the oracle the engine is tested against); the at-fault rules
(``adsgen.sim.fault.classify``) and the assembly of its RunResult (``adsgen.sim.episode.assemble_result``)
are the referee's own.
"""

from __future__ import annotations

import math

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.mapping import G_MPS2, sensing
from adsgen.scenario.model import Scenario
from adsgen.sim import engine as E
from adsgen.sim import fault
from adsgen.sim.agents.idm import IDMParams
from adsgen.sim.agents.observation import SIGNAL_GREEN, SIGNAL_NONE, SIGNAL_RED, SIGNAL_YELLOW
from adsgen.sim.episode import assemble_result
from adsgen.sim.rng import scenario_key, uniforms
from adsgen.sim.types import DT_S, RunResult, TerminationReason

_INF = math.inf


def _signal(t: float, plan: list[float], group: int) -> int:
    """Signal state at ``t`` [s] of a fixed-time plan (green, yellow, all-red, offset [s]); group 1 runs half a
    cycle after group 0."""
    green, yellow, all_red, offset = plan
    cycle = 2.0 * (green + yellow + all_red)
    tau = (t + offset - group * cycle / 2.0) % cycle
    return SIGNAL_GREEN if tau < green else SIGNAL_YELLOW if tau < green + yellow else SIGNAL_RED


def _overlap(x1, y1, c1, s1, hl1, hw1, x2, y2, c2, s2, hl2, hw2) -> bool:  # noqa: PLR0913 -- two oriented boxes, six numbers each
    dx, dy = x2 - x1, y2 - y1
    cc, cs = abs(c1 * c2 + s1 * s2), abs(c1 * s2 - s1 * c2)
    return not (abs(dx * c1 + dy * s1) > hl1 + hl2 * cc + hw2 * cs
                or abs(-dx * s1 + dy * c1) > hw1 + hl2 * cs + hw2 * cc
                or abs(dx * c2 + dy * s2) > hl2 + hl1 * cc + hw1 * cs
                or abs(-dx * s2 + dy * c2) > hw2 + hl1 * cs + hw1 * cc)


def _separating_gap(x1, y1, c1, s1, hl1, hw1, x2, y2, c2, s2, hl2, hw2) -> float:  # noqa: PLR0913 -- two oriented boxes, six numbers each
    dx, dy = x2 - x1, y2 - y1
    cc, cs = abs(c1 * c2 + s1 * s2), abs(c1 * s2 - s1 * c2)
    return max(abs(dx * c1 + dy * s1) - (hl1 + hl2 * cc + hw2 * cs),
               abs(-dx * s1 + dy * c1) - (hw1 + hl2 * cs + hw2 * cc),
               abs(dx * c2 + dy * s2) - (hl2 + hl1 * cc + hw1 * cs),
               abs(-dx * s2 + dy * c2) - (hw2 + hl1 * cs + hw1 * cc))


def _corner_gap(dx, dy, c1, s1, hl1, hw1, cr, sr, hl2, hw2) -> float:
    px, py = dx * c1 + dy * s1, -dx * s1 + dy * c1
    best = _INF
    for sx, sy in ((1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)):
        qx = max(abs(px + hl2 * cr * sx - hw2 * sr * sy) - hl1, 0.0)
        qy = max(abs(py + hl2 * sr * sx + hw2 * cr * sy) - hw1, 0.0)
        best = min(best, math.sqrt(qx * qx + qy * qy))
    return best


def _box_distance(x1, y1, c1, s1, hl1, hw1, x2, y2, c2, s2, hl2, hw2) -> float:  # noqa: PLR0913 -- two oriented boxes, six numbers each
    if _overlap(x1, y1, c1, s1, hl1, hw1, x2, y2, c2, s2, hl2, hw2):
        return 0.0
    cr, sr = c2 * c1 + s2 * s1, s2 * c1 - c2 * s1
    return min(_corner_gap(x2 - x1, y2 - y1, c1, s1, hl1, hw1, cr, sr, hl2, hw2),
               _corner_gap(x1 - x2, y1 - y2, c2, s2, hl2, hw2, cr, -sr, hl1, hw1))


def _disc_gap(px, py, r, x, y, c, s, hl, hw) -> float:
    dx, dy = px - x, py - y
    qx, qy = abs(dx * c + dy * s) - hl, abs(-dx * s + dy * c) - hw
    return math.hypot(max(qx, 0.0), max(qy, 0.0)) + min(max(qx, qy), 0.0) - r


def _div(a, b):
    if b != 0.0:
        return a / b
    if a == 0.0:
        return math.nan
    return math.copysign(_INF, a) * (1.0 if math.copysign(1.0, b) > 0 else -1.0)


def _ttc(ex, ey, ec, es, evx, evy, el, ew, x, y, c, s, vx, vy, length, width) -> float:  # noqa: PLR0913 -- the ego's and one other's pose, velocity and size
    dx, dy, rvx, rvy = x - ex, y - ey, vx - evx, vy - evy
    px0, py0 = ec * dx + es * dy, -es * dx + ec * dy
    ox, oy = ec * c + es * s, -es * c + ec * s
    ux, uy = ec * rvx + es * rvy, -es * rvx + ec * rvy
    r = width / 2
    hx, hy = el / 2 + r, ew / 2 + r
    span = max(length - width, 0.0) / 2
    best = _INF
    for k in (-1.0, 0.0, 1.0):
        px, py = px0 + ox * span * k, py0 + oy * span * k
        ax1, ax2 = _div(-hx - px, ux), _div(hx - px, ux)
        ay1, ay2 = _div(-hy - py, uy), _div(hy - py, uy)
        if math.isnan(ax1) or math.isnan(ax2) or math.isnan(ay1) or math.isnan(ay2):
            continue
        t_in = max(min(ax1, ax2), min(ay1, ay2))
        t_out = min(max(ax1, ax2), max(ay1, ay2))
        if t_in <= t_out and t_out >= 0.0:
            best = min(best, max(t_in, 0.0))
    return best


def _occluded(ex, ey, tx, ty, ox, oy, c, s, hl, hw) -> bool:
    p0x, p0y = c * (ex - ox) + s * (ey - oy), -s * (ex - ox) + c * (ey - oy)
    p1x, p1y = c * (tx - ox) + s * (ty - oy), -s * (tx - ox) + c * (ty - oy)
    ux, uy = p1x - p0x, p1y - p0y
    lo, hi = -_INF, _INF
    for p, u, h in ((p0x, ux, hl), (p0y, uy, hw)):
        t1, t2 = _div(-h - p, u), _div(h - p, u)
        if math.isnan(t1) or math.isnan(t2):
            return False
        lo, hi = max(lo, min(t1, t2)), min(hi, max(t1, t2))
    return lo <= hi and hi >= 0.0 and lo <= 0.999


# long: the pure-Python baseline of `adsgen bench sim` is written as one plain loop on purpose: it is how one
# would write the simulator without batching, and it is what the batched engine is timed against
def run_loop(scenario: Scenario, seed: int = 0, params: IDMParams | None = None) -> RunResult:  # noqa: C901, PLR0912, PLR0915 -- see the note above
    """Run one scenario against the IDM + AEB agent in a plain Python loop."""
    p = params or IDMParams()
    bt = E.compile_batch([scenario])
    n = bt.off.shape[1]
    X, Y, H, K, CH, SH = (arr.tolist() for arr in (bt.X, bt.Y, bt.H, bt.K, bt.CH, bt.SH))
    PS, PL, PH, PC, PSN = (arr.tolist() for arr in (bt.PS, bt.PL, bt.PH, bt.PC, bt.PSN))
    g = {k: getattr(bt, k)[0].tolist() for k in (
        "off", "npts", "rlen", "length", "width", "is_ped", "v_des", "s0", "mtype", "tkind", "tval", "decel", "dur",
        "lat_amp", "stop_s", "line_s", "group", "poff", "sc_e", "sc_a", "weave_amp", "weave_w")}
    has_signal, has_stop = bool(bt.has_signal[0]), bool(bt.has_stop_sign[0])
    sig = bt.sig[0].tolist()
    mu_g = float(bt.mu[0]) * G_MPS2
    d_left, d_right = float(bt.d_left[0]), float(bt.d_right[0])
    n_steps = int(bt.n_steps[0])
    M = E.M
    # state
    s = list(g["s0"])
    d, psi, acc_prev, d_ref = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    v = [0.0 if g["mtype"][j] == M["stopped"] else g["v_des"][j] for j in range(n)]
    for j in range(n):
        if g["is_ped"][j] and g["mtype"][j] == M["cross_road"] and g["tkind"][j] >= 0:
            v[j] = 0.0
    present = [True] * n
    triggered = [g["tkind"][j] < 0 for j in range(n)]
    t_trig = [0.0 if triggered[j] else _INF for j in range(n)]
    served, dwell = [False] * n, [0.0] * n
    nan = math.nan
    te_in, te_out, ta_in, ta_out = [nan] * n, [nan] * n, [nan] * n, [nan] * n
    min_ttc = min_dist = _INF
    lane_w = scenario.road.lane_width_m
    left_t = [_INF] * n
    fault_event: tuple | None = None
    reason, partner, impact, t_end = None, None, None, None
    # agent state
    sens = sensing(scenario.factors)
    lag = int(round(sens.latency_s / DT_S))
    n_act = len(scenario.actors)
    u_draw = uniforms(np.array([scenario_key(seed, scenario, "idm.detection")], dtype=np.uint64), n_steps + 1,
                      n_act)[0].tolist()
    hits = [0] * n
    frames: list[list[tuple]] = []  # per step: one tuple per actor, what a lagged perception sees
    a_served, a_dwell = False, 0.0
    wheelbase = [max(E.WHEELBASE_FRACTION * g["length"][j], 0.1) for j in range(n)]
    for k in range(n_steps + 1):
        t = k * DT_S
        # poses
        xs, ys, yaws, cs, ss, kap, cps, sps, chs, shs = ([0.0] * n for _ in range(10))
        for j in range(n):
            f = min(s[j], g["rlen"][j]) / ROUTE_DS_M
            i = min(int(f), g["npts"][j] - 2)
            w = f - i
            i0 = g["off"][j] + i
            i1 = i0 + 1
            ch = CH[i0] + (CH[i1] - CH[i0]) * w
            sh = SH[i0] + (SH[i1] - SH[i0]) * w
            xs[j] = X[i0] + (X[i1] - X[i0]) * w - sh * d[j]
            ys[j] = Y[i0] + (Y[i1] - Y[i0]) * w + ch * d[j]
            yaws[j] = H[i0] + (H[i1] - H[i0]) * w + psi[j]
            cp, sp = math.cos(psi[j]), math.sin(psi[j])
            cs[j], ss[j] = ch * cp - sh * sp, sh * cp + ch * sp
            kap[j], cps[j], sps[j], chs[j], shs[j] = K[i0], cp, sp, ch, sh
        vx = [v[j] * cs[j] for j in range(n)]
        vy = [v[j] * ss[j] for j in range(n)]
        el, ew = g["length"][0], g["width"][0]
        hit_j, ttcs = None, [_INF] * n
        ttc_before = min_ttc
        for j in range(1, n):
            if not present[j]:
                continue
            if g["is_ped"][j]:
                gap = _disc_gap(xs[j], ys[j], g["width"][j] / 2, xs[0], ys[0], cs[0], ss[0], el / 2, ew / 2)
                dist, hit = max(gap, 0.0), gap <= 0.0
            else:
                sep = _separating_gap(xs[0], ys[0], cs[0], ss[0], el / 2, ew / 2, xs[j], ys[j], cs[j], ss[j],
                                      g["length"][j] / 2, g["width"][j] / 2)
                hit = sep <= 0.0
                if hit:
                    dist = 0.0
                elif sep < E.NEAR_M:
                    dist = _box_distance(xs[0], ys[0], cs[0], ss[0], el / 2, ew / 2, xs[j], ys[j], cs[j], ss[j],
                                         g["length"][j] / 2, g["width"][j] / 2)
                else:
                    dist = sep
            ttcs[j] = _ttc(xs[0], ys[0], cs[0], ss[0], vx[0], vy[0], el, ew, xs[j], ys[j], cs[j], ss[j], vx[j], vy[j],
                           g["length"][j], g["width"][j])
            min_dist, min_ttc = min(min_dist, dist), min(min_ttc, ttcs[j])
            if hit and hit_j is None:
                hit_j = j
        # lane departures (the at-fault evidence)
        for j in range(1, n):
            out = not g["is_ped"][j] and abs(d[j]) + g["width"][j] / 2 > lane_w / 2
            left_t[j] = min(left_t[j], t) if out else _INF
        # PET bookkeeping
        for j in range(1, n):
            if math.isnan(g["sc_e"][j]):
                continue
            ze, za = g["width"][j] / 2 + 0.5, g["width"][0] / 2 + 0.5
            if math.isnan(te_in[j]) and s[0] + el / 2 >= g["sc_e"][j] - ze:
                te_in[j] = t
            if math.isnan(te_out[j]) and s[0] - el / 2 > g["sc_e"][j] + ze:
                te_out[j] = t
            if math.isnan(ta_in[j]) and s[j] + g["length"][j] / 2 >= g["sc_a"][j] - za:
                ta_in[j] = t
            if math.isnan(ta_out[j]) and s[j] - g["length"][j] / 2 > g["sc_a"][j] + za:
                ta_out[j] = t
        tick_ttc = min(ttcs[1:], default=_INF)
        fj = hit_j if hit_j is not None else (ttcs.index(tick_ttc, 1) if tick_ttc < ttc_before else None)
        if fj is not None:  # the collision, or the closest encounter so far: judged at the end (one call)
            fault_event = (xs[0], ys[0], cs[0], ss[0], v[0], el, xs[fj], ys[fj], left_t[fj], t)
        if hit_j is not None:
            reason, partner, t_end = TerminationReason.COLLISION, hit_j, t
            impact = math.hypot(vx[hit_j] - vx[0], vy[hit_j] - vy[0])
            min_ttc = 0.0
        elif d[0] > d_left or d[0] < -d_right:
            reason, t_end = TerminationReason.OFF_ROAD, t
        elif s[0] >= g["rlen"][0] - E.COMPLETED_MARGIN_M:
            reason, t_end = TerminationReason.COMPLETED, t
        elif k >= n_steps:
            reason, t_end = TerminationReason.TIMEOUT, t
        if reason is not None:
            break
        # triggers
        for j in range(1, n):
            if triggered[j] or not present[j]:
                continue
            kind, val = g["tkind"][j], g["tval"][j]
            cd = math.hypot(xs[j] - xs[0], ys[j] - ys[0])
            arrival = s[0] + el / 2  # the ego's front bumper on its route [m]; 3: time-to-arrival at the conflict point
            if (kind == 0 and t >= val) or (kind == 1 and cd <= val) or (kind == 2 and ttcs[j] <= val) or (
                    kind == 3 and -el <= g["sc_e"][j] - arrival <= v[0] * val):
                triggered[j], t_trig[j] = True, t
        # traffic control
        sigs = [_signal(t, sig, g["group"][j]) if has_signal else SIGNAL_NONE for j in range(n)]
        stop_gap = [_INF] * n
        if has_signal or has_stop:
            for j in range(n):
                front = s[j] + g["length"][j] / 2
                if front <= g["stop_s"][j] + 0.5:
                    stop_gap[j] = g["stop_s"][j] - front
        # ---- agent: observation, sensing, IDM, AEB
        frame = []
        for j in range(1, n):
            pi = g["poff"][j] + min(int(s[j] / ROUTE_DS_M), g["npts"][j] - 1)
            rel = yaws[j] - PH[pi]
            cos_ = chs[j] * PC[pi] + shs[j] * PSN[pi]
            sin_ = shs[j] * PC[pi] - chs[j] * PSN[pi]
            occ = False
            if n >= 3:
                for o in range(1, n):
                    if o != j and present[o] and not g["is_ped"][o] and _occluded(
                            xs[0], ys[0], xs[j], ys[j], xs[o], ys[o], cs[o], ss[o], g["length"][o] / 2,
                            g["width"][o] / 2):
                        occ = True
                        break
            frame.append((xs[j], ys[j], yaws[j], v[j], PS[pi] - d[j] * sin_, PL[pi] + d[j] * cos_, rel, occ,
                          present[j], xs[0], ys[0], ttcs[j]))
        frames.append(frame)
        per = frames[max(k - lag, 0)]
        ve = v[0]
        g_lead, v_lead, ttc_min = _INF, 0.0, _INF
        lead_j = None
        for jj, (axx, ayy, _ayaw, av, aps, alat, arel, aocc, apres, pex, pey, attc) in enumerate(per):
            j = jj + 1
            visible = apres and math.hypot(axx - pex, ayy - pey) <= sens.detection_range_m and not aocc
            hit = visible and u_draw[min(k, n_steps)][jj] >= sens.miss_rate
            hits[j] = hits[j] + int(hit) if visible else 0
            if not (visible and hits[j] >= p.confirm_hits):
                continue
            parallel = not g["is_ped"][j] and math.cos(arel) > math.cos(p.parallel_rad)
            half = lane_w / 2 if parallel else ew / 2 + g["width"][j] / 2 + p.path_margin_m
            in_path = abs(alat - d[0]) < half
            ext = abs(math.cos(arel)) * g["length"][j] / 2 + abs(math.sin(arel)) * g["width"][j] / 2
            gap = aps - s[0] - el / 2 - ext
            if in_path and gap > -el and (lead_j is None or gap < g_lead):
                g_lead, v_lead, lead_j = gap, av * math.cos(arel), j
            if in_path or not parallel:  # the constant-velocity TTC measured at capture time
                ttc_min = min(ttc_min, attc)
        sg = stop_gap[0]
        stoppable = ve * ve / (2 * max(sg, 0.1)) <= p.yellow_stop_decel_mps2
        stop_sign_ahead = has_stop and sg < _INF
        a_dwell = a_dwell + DT_S if (stop_sign_ahead and ve < 0.05 and sg < 3.5) else 0.0
        a_served = a_served or (stop_sign_ahead and a_dwell >= p.stop_dwell_s)
        stop = sigs[0] == SIGNAL_RED or (sigs[0] == SIGNAL_YELLOW and stoppable) or (stop_sign_ahead and not a_served)
        g_stop = sg if stop and sg < _INF else _INF
        if g_stop < g_lead:
            gap_eff, dv = g_stop, ve
        else:
            gap_eff, dv = g_lead, (ve - v_lead) if g_lead < _INF else 0.0
        v0 = g["v_des"][0]
        for dist_ahead in E.CURVATURE_AHEAD_M.tolist():
            kk = abs(K[g["off"][0] + min(int((s[0] + dist_ahead) * (1.0 / ROUTE_DS_M)), g["npts"][0] - 1)])
            v_curve2 = p.a_lat_comf_mps2 / kk if kk > 0 else _INF
            v0 = min(v0, math.sqrt(v_curve2 + 2.0 * p.b_comf_mps2 * dist_ahead))
        v0 = max(v0, 0.1)
        s_star = p.s0_m + max(0.0, ve * p.headway_s + ve * dv / (2.0 * math.sqrt(p.a_max_mps2 * p.b_comf_mps2)))
        inter = (s_star / max(gap_eff, 0.1)) ** 2 if gap_eff < _INF else 0.0
        a_ego = max(p.a_max_mps2 * (1.0 - (ve / v0) ** p.delta - inter), -p.max_decel_mps2)
        if g_stop < g_lead and gap_eff < p.s0_m + 1.0 and ve < 1.0:
            a_ego = min(a_ego, -p.b_comf_mps2)
        if ttc_min < p.aeb_ttc_s and ve > 0.1:
            a_ego = -p.aeb_decel_mps2
        acc = [a_ego] + [0.0] * (n - 1)
        # ---- actors
        for j in range(1, n):
            mt, vj, vd = g["mtype"][j], v[j], g["v_des"][j]
            a = min(max(E.ACTOR_GAIN_PER_S * (vd - vj), -E.ACTOR_DECEL_MPS2), E.ACTOR_ACCEL_MPS2)
            if has_signal or has_stop or mt == M["turn_left_across"]:
                gap = stop_gap[j]
                if has_stop and vj < 0.3 and gap < 3.0:
                    dwell[j] += DT_S
                else:
                    dwell[j] = 0.0
                served[j] = served[j] or dwell[j] >= 1.0
                if has_signal:
                    must = sigs[j] == SIGNAL_RED or (sigs[j] == SIGNAL_YELLOW and vj * vj / (2 * max(gap, 0.1))
                                                     < E.ACTOR_DECEL_MPS2)
                else:
                    must = has_stop and not served[j]
                must = must and mt != M["run_red_light"] and gap < _INF
                hold_gap = _INF
                if mt == M["turn_left_across"] and not triggered[j]:
                    if g["line_s"][j] < _INF:
                        hold_gap = g["line_s"][j] - (s[j] + g["length"][j] / 2)
                    else:
                        hold_gap = g["s0"][j] - s[j] + 0.5
                gg = min(gap if must else _INF, hold_gap)
                if gg < _INF and vj * vj / (2.0 * E.ACTOR_DECEL_MPS2) + 2.0 >= gg:
                    a_stop = -vj * vj / (2.0 * max(gg - 0.5, 0.05))
                    a = min(a, max(a_stop, -8.0))
                    if gg < 0.6:
                        a = -8.0
            if triggered[j] and (mt == M["brake_hard"] or (mt == M["run_red_light"] and g["tkind"][j] >= 0) or (
                    mt == M["cut_in_brake"] and t - t_trig[j] >= g["dur"][j])):
                a = -g["decel"][j]
            if mt == M["stopped"]:
                a = 0.0
            if g["is_ped"][j]:
                walk = 0.0 if (mt == M["cross_road"] and not triggered[j]) else vd
                a = (walk - vj) / DT_S
            acc[j] = a
            amp, w = g["weave_amp"][j], g["weave_w"][j]  # an impaired driver's weave about its lane centre
            if mt in (M["cut_in"], M["head_on_drift"], M["cut_in_brake"]) and triggered[j]:
                frac = min(max((t - t_trig[j]) / g["dur"][j], 0.0), 1.0)
                prof = (1.0 - math.cos(math.pi * frac)) / 2.0
                d_ref[j] = amp * math.sin(w * t_trig[j]) * (1.0 - prof) + g["lat_amp"][j] * prof
            else:
                d_ref[j] = amp * math.sin(w * t) if amp > 0.0 else 0.0
        # ---- dynamics
        for j in range(n):
            if not present[j]:
                continue
            vj = v[j]
            veh = not g["is_ped"][j]
            aj = acc[j]
            tan_d = 0.0
            if veh:
                psi_des = min(max(E.LAT_GAIN_PER_M * (d_ref[j] - d[j]), -E.MAX_PSI_RAD), E.MAX_PSI_RAD)
                yaw_rate = vj * kap[j] + E.HEAD_GAIN_PER_S * (psi_des - psi[j])
                tan_lim = min(E.TAN_MAX_STEER, mu_g * wheelbase[j] / max(vj * vj, 1e-6))
                tan_d = min(max(wheelbase[j] * yaw_rate / max(vj, 1.0), -tan_lim), tan_lim)
                a_lat = min(vj * vj * abs(tan_d * (1.0 / wheelbase[j])), mu_g)
                a_lon = math.sqrt(max(mu_g * mu_g - a_lat * a_lat, 0.0))
                aj = min(max(aj, -a_lon), min(a_lon, E.MAX_ACCEL_MPS2))
            v_new = vj + aj * DT_S
            if v_new < 0.0:
                travel = vj * vj / (-2.0 * aj) if aj < 0 else 0.0
            else:
                travel = (vj + v_new) / 2 * DT_S
            v_new = max(v_new, 0.0)
            ds = travel * cps[j] / max(1.0 - kap[j] * d[j], 0.1)
            s[j] += ds
            if veh:
                d[j] += travel * sps[j]
                psi[j] += travel * (tan_d * (1.0 / wheelbase[j])) - kap[j] * ds
            v[j], acc_prev[j] = v_new, aj
            if j > 0 and s[j] >= g["rlen"][j] - 0.05:
                present[j] = False
    collided = reason is TerminationReason.COLLISION
    fault_code = -1 if fault_event is None else int(fault.classify(*fault_event))
    pets = []
    for j in range(1, n):
        if math.isnan(te_in[j]) or math.isnan(ta_in[j]):
            continue
        a_first = ta_in[j] - (_INF if math.isnan(te_out[j]) else te_out[j])
        b_first = te_in[j] - (_INF if math.isnan(ta_out[j]) else ta_out[j])
        pets.append(max(a_first, b_first, 0.0))
    if collided and not math.isnan(g["sc_e"][partner]):
        pets = [0.0]
    assert reason is not None  # the loop ends at the horizon at the latest
    return assemble_result(scenario, reason, t_end,
                           partner=bt.ids[0][partner] if collided and partner is not None else None,
                           impact_speed_mps=impact if collided else None, min_ttc_s=min_ttc,
                           min_distance_m=min_dist, pet_s=min(pets) if pets else None, fault_code=fault_code,
                           mu=float(bt.mu[0]), backend="loop", seed=seed)


__all__ = ["run_loop"]
