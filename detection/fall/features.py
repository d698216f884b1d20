"""What a fall looks like to an accelerometer, as numbers that do not depend on the sensor.

Three promises, kept by construction rather than by training:

* **Any orientation.** Features use the magnitude |a| (the same however the
  sensor is worn) or the angle between two gravity estimates in the sensor's own
  frame (the same whatever the axis convention). A rotated sensor gives the
  same numbers.
* **Any range from +-CAP_G up.** Magnitudes are capped at ``CAP_G`` before use.
  A sensor that clips one axis at R >= CAP_G reads |a| >= R >= CAP_G there, and
  so does the true signal: capped, both are exactly ``CAP_G``. A +-16 g belt clip
  and a +-4 g watch therefore give the same features for the same motion, and
  impact strength is measured by what survives clipping: time spent high and the
  area above 1 g (the velocity change), not the peak.
* **Any rate.** Samples arrive resampled to one internal rate
  (``detection.fall.stream``) and every window is in seconds.

A fall is: often reduced gravity as the body drops, an impact, a new
orientation of the body relative to its upright posture before, and then
little or different movement. Everyday life has each of these alone (sitting
down hard is an impact without a new orientation; lying down is a new
orientation without an impact; jogging and clapping are repeated impacts with
movement going on), rarely all together.
"""

from __future__ import annotations

import math

import numpy as np

from detection.fall.stream import FS

CAP_G = 4.0  # the smallest range of a common wearable's accelerometer (consumer watches)
PRE_S = 4.0  # history used before the peak
POST_S = 2.5  # wait after the peak before deciding (median latency budget: 3 s)
HIGH_G = 2.0  # "high" for the time spent high (below the cap)
STEADY_G = 0.25  # samples within this of 1 g are quiet enough to show gravity's direction

FEATURE_NAMES = (
    "impact_area_g_s",  # area of (|a| - 1 g) above 0 within +-0.5 s of the peak: velocity change
    "high_time_s",  # time with |a| > 2 g within +-1 s of the peak (clipped peaks still last)
    "freefall_area_g_s",  # area of (1 g - |a|) above 0 in the second before the peak: velocity gained falling
    "freefall_min_g",  # lowest 0.1 s mean of |a| in that second (free fall ~ 0 g)
    "posture_change_deg",  # angle between gravity before (-4..-1 s) and after (+1..+2.5 s)
    "post_std_g",  # std of |a| from +1 to +2.5 s (lying still: low)
    "post_max_g",  # largest |a| from +1 to +2.5 s (running or walking on: high)
    "pre_std_g",  # std of |a| from -4 to -1 s (jogging, clapping: high)
    "peaks_around",  # other peaks > 1.6 g within -3..+2.5 s, away from the impact (steps, strides, claps)
    "peak_g",  # the capped peak (clipped watches: mostly the cap itself)
    "pre_max_g",  # largest |a| from -4 to -1 s (jogging, jumping: high; walking: low)
    "post_dev_g",  # |mean |a| - 1 g| from +1 to +2.5 s (lying: ~0)
    "quiet_std_g",  # std of |a| in the quietest 0.5 s from +0.5 to +2.5 s: lying, if briefly, before getting up
    "quiet_posture_deg",  # angle between gravity before and in that quietest 0.5 s
)


def _win(peak: int, a: float, b: float, n: int) -> slice:
    return slice(min(n, max(0, peak + round(a * FS))), min(n, max(0, peak + round(b * FS))))


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu < 1e-6 or nv < 1e-6:
        return 0.0
    c = float(np.dot(u, v)) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def gravity(acc: np.ndarray, mag: np.ndarray) -> np.ndarray | None:
    """Gravity's direction in the sensor's frame: the mean of the quiet samples (or of all)."""
    if len(acc) == 0:
        return None
    quiet = np.abs(mag - 1.0) < STEADY_G
    use = acc[quiet] if quiet.sum() >= 5 else acc
    return use.mean(axis=0)  # type: ignore[no-any-return]


def compute_features(acc: np.ndarray, mag: np.ndarray, peak: int) -> np.ndarray:
    """Features of the candidate whose impact peak is sample ``peak``; ``mag`` is capped |a| of ``acc``.

    ``acc`` (n, 3) in g at ``FS`` Hz must hold POST_S seconds after the peak;
    missing history before the peak (the stream just started) shrinks the
    windows before it.
    """
    n = len(mag)
    dt = 1.0 / FS
    imp = mag[_win(peak, -0.5, 0.5, n)]
    impact_area = float(np.clip(imp - 1.0, 0.0, None).sum() * dt)
    high = mag[_win(peak, -1.0, 1.0, n)]
    high_time = float((high > HIGH_G).sum() * dt)
    ff = mag[_win(peak, -1.0, 0.0, n)]
    freefall_area = float(np.clip(1.0 - ff, 0.0, None).sum() * dt) if ff.size else 0.0
    k = max(1, round(0.1 * FS))
    if ff.size >= k:
        c = np.cumsum(np.concatenate([[0.0], ff]))
        freefall_min = float(((c[k:] - c[:-k]) / k).min())
    else:
        freefall_min = 1.0
    pre_w = _win(peak, -PRE_S, -1.0, n)
    post_w = _win(peak, 1.0, POST_S, n)
    g_pre = gravity(acc[pre_w], mag[pre_w])
    g_post = gravity(acc[post_w], mag[post_w])
    posture = _angle_deg(g_pre, g_post) if g_pre is not None and g_post is not None else 0.0
    post, pre = mag[post_w], mag[pre_w]
    around_w = _win(peak, -3.0, POST_S, n)
    around = mag[around_w]
    peaks_around = 0
    if around.size > 2:
        inner = around[1:-1]
        is_peak = (inner > 1.6) & (inner >= around[:-2]) & (inner > around[2:])
        idx = np.nonzero(is_peak)[0] + 1 + around_w.start
        peaks_around = int(np.sum(np.abs(idx - peak) > 0.5 * FS))
    quiet_std, quiet_posture = _quietest(acc, mag, peak, g_pre)
    return np.array([
        impact_area,
        high_time,
        freefall_area,
        freefall_min,
        posture,
        float(post.std()) if post.size else 0.0,
        float(post.max()) if post.size else 1.0,
        float(pre.std()) if pre.size > 1 else 0.0,
        float(peaks_around),
        float(mag[peak]),
        float(pre.max()) if pre.size else 1.0,
        abs(float(post.mean()) - 1.0) if post.size else 0.0,
        quiet_std,
        quiet_posture,
    ])


def _quietest(acc: np.ndarray, mag: np.ndarray, peak: int, g_pre: np.ndarray | None) -> tuple[float, float]:
    """(std of |a|, angle to gravity before) of the quietest 0.5 s from +0.5 to +POST_S s after the peak."""
    w = _win(peak, 0.5, POST_S, len(mag))
    m, a = mag[w], acc[w]
    k = round(0.5 * FS)
    if len(m) < k:
        return 0.0, 0.0
    c1 = np.cumsum(np.concatenate([[0.0], m]))
    c2 = np.cumsum(np.concatenate([[0.0], m * m]))
    mean = (c1[k:] - c1[:-k]) / k
    std = np.sqrt(np.maximum((c2[k:] - c2[:-k]) / k - mean * mean, 0.0))
    j = int(np.argmin(std))
    posture = _angle_deg(g_pre, a[j:j + k].mean(axis=0)) if g_pre is not None else 0.0
    return float(std[j]), posture
