"""What a fall looks like to an accelerometer, as numbers that do not depend on the sensor.

Every feature is computed from the acceleration magnitude (the same whatever
way the sensor is mounted) or from the angle between two mean acceleration
vectors in the sensor's own frame (gravity before vs. after: also the same
whatever the axis convention), over windows defined in seconds around the
impact peak, so they hold at any sample rate.

A fall is: often a moment of reduced gravity as the body drops, an impact, a
change of the body's orientation, and then little movement. Everyday life
has each of these alone (sitting down hard is an impact without a change of
orientation; lying down is a change of orientation without an impact;
jogging is repeated impacts with plenty of movement after them), rarely all
together.
"""

from __future__ import annotations

import math

import numpy as np

PRE_S = 4.0  # history needed before the peak
POST_S = 2.0  # wait after the peak before deciding (latency budget: decide <= 3 s after impact)

FEATURE_NAMES = (
    "peak_g",  # impact: highest |a|
    "freefall_min_g",  # lowest |a| in the second before the peak (free fall ~ 0 g)
    "freefall_drop_s",  # velocity gained while |a| < 1 g in that second (g * s)
    "impact_energy",  # integral of (|a| - 1)^2 in +-0.5 s around the peak (g^2 s)
    "posture_change_deg",  # angle between mean a before (-4..-1.5 s) and after (+1..+2 s)
    "post_still_std_g",  # std of |a| from +1.0 to +2.0 s (lying still: low)
    "post_mean_dev_g",  # |mean |a| - 1| from +1.0 to +2.0 s
    "post_max_g",  # largest |a| from +1.0 to +2.0 s (running on: high)
    "pre_activity_std_g",  # std of |a| from -4 to -1.5 s (jogging: high)
    "peaks_around",  # count of other peaks > 1.6 g within -3..+2 s (steps, jumps)
)


def _win(fs: float, peak: int, a: float, b: float) -> slice:
    return slice(max(0, peak + round(a * fs)), max(0, peak + round(b * fs)))


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu < 1e-6 or nv < 1e-6:
        return 0.0
    c = float(np.dot(u, v)) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def compute_features(acc: np.ndarray, mag: np.ndarray, peak: int, fs: float) -> np.ndarray:
    """Features of the candidate whose impact peak is sample ``peak`` of ``acc`` (n, 3) in g.

    ``acc`` must hold at least POST_S seconds after the peak; missing history
    before the peak (the stream just started) shrinks the windows.
    """
    dt = 1.0 / fs
    peak_g = float(mag[peak])
    ff = mag[_win(fs, peak, -1.0, 0.0)]
    freefall_min = float(ff.min()) if ff.size else 1.0
    freefall_drop = float(np.clip(1.0 - ff, 0.0, None).sum() * dt) if ff.size else 0.0
    imp = mag[_win(fs, peak, -0.5, 0.5)]
    impact_energy = float(((imp - 1.0) ** 2).sum() * dt)
    pre_v = acc[_win(fs, peak, -PRE_S, -1.5)]
    post_v = acc[_win(fs, peak, 1.0, POST_S)]
    posture = _angle_deg(pre_v.mean(axis=0), post_v.mean(axis=0)) if pre_v.size and post_v.size else 0.0
    post = mag[_win(fs, peak, 1.0, POST_S)]
    pre = mag[_win(fs, peak, -PRE_S, -1.5)]
    around = mag[_win(fs, peak, -3.0, POST_S)]
    # local maxima above 1.6 g, excluding the impact's own neighbourhood (+-0.3 s)
    if around.size > 2:
        inner = around[1:-1]
        is_peak = (inner > 1.6) & (inner >= around[:-2]) & (inner > around[2:])
        idx = np.nonzero(is_peak)[0] + 1 + max(0, peak - round(3.0 * fs))
        peaks_around = int(np.sum(np.abs(idx - peak) > 0.3 * fs))
    else:
        peaks_around = 0
    return np.array([
        peak_g,
        freefall_min,
        freefall_drop,
        impact_energy,
        posture,
        float(post.std()) if post.size else 0.0,
        abs(float(post.mean()) - 1.0) if post.size else 0.0,
        float(post.max()) if post.size else 0.0,
        float(pre.std()) if pre.size > 1 else 0.0,
        float(peaks_around),
    ])
