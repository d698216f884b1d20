"""The Detection page's cancel window reaches every wearable that has none of its own (issue 11, item 14)."""

from __future__ import annotations

import tomllib

import numpy as np
import tomli_w

from detection.events import AccelBatch, Stamp
from detection.fall import FallDetector
from gateway.config import merge, to_data, validate
from gateway.detectors import build_detectors
from gateway.web import forms

PENDANT = {"id": "pendant", "address": "C0:FF:EE:00:00:01", "placement": "neck"}
WATCH = {"id": "watch", "address": "C0:FF:EE:00:00:02", "cancel_window_s": 12.0}


def windows(cfg_data: dict) -> dict[str, float]:
    (fall,) = [d for d in build_detectors(validate(cfg_data)) if isinstance(d, FallDetector)]
    return {dev: w.cancel_window_s for dev, w in fall.wearables.items()}


def test_a_wearable_without_its_own_window_follows_the_global_one():
    data = {"detection": {"fall": {"cancel_window_s": 75.0}}, "wearables": [PENDANT, WATCH]}
    assert windows(data) == {"pendant": 75.0, "watch": 12.0}


def test_changing_the_global_window_changes_the_daemons_detector():
    """What the Detection page does: merge one key, rebuild the detectors."""
    cfg = validate({"wearables": [PENDANT]})
    assert windows(to_data(cfg)) == {"pendant": 30.0}
    changed = merge(cfg, {"detection": {"fall": {"cancel_window_s": 90.0}}})
    assert windows(to_data(changed)) == {"pendant": 90.0}


def test_an_unset_window_stays_unset_through_a_save():
    """Saved by the page and read back, the wearable still follows the global value, not a frozen copy."""
    cfg = validate({"detection": {"fall": {"cancel_window_s": 60.0}}, "wearables": [PENDANT]})
    text = tomli_w.dumps(to_data(cfg))
    assert "cancel_window_s = 60.0" in text and text.count("cancel_window_s") == 1
    again = validate(tomllib.loads(text))
    assert again.wearables[0].cancel_window_s is None
    assert windows(to_data(merge(again, {"detection": {"fall": {"cancel_window_s": 20.0}}}))) == {"pendant": 20.0}


def test_the_wearable_form_leaves_the_window_unset_when_empty():
    cfg = validate({"wearables": [WATCH]})
    item = forms.parse(forms.WEARABLE_FIELDS, {"id": "watch", "cancel_window_s": ""})
    new = forms.with_item(cfg, "wearables", item, "watch")
    assert new.wearables[0].cancel_window_s is None
    item = forms.parse(forms.WEARABLE_FIELDS, {"id": "watch", "cancel_window_s": "40"})
    assert forms.with_item(cfg, "wearables", item, "watch").wearables[0].cancel_window_s == 40.0


def test_the_fall_finding_carries_the_global_window():
    """End to end through the detector the daemon builds: a clear fall held for the global window."""
    (fall,) = [d for d in build_detectors(validate({"detection": {"fall": {"cancel_window_s": 45.0}},
                                                    "wearables": [PENDANT]}))
               if isinstance(d, FallDetector)]
    fs = 50.0
    still = np.tile([0.0, 0.0, 1.0], (int(fs * 4), 1))
    impact = np.tile([0.0, 0.0, 1.0], (int(fs * 0.4), 1))
    impact[len(impact) // 2] = [0.0, 6.0, 1.0]
    lying = np.tile([1.0, 0.0, 0.0], (int(fs * 12), 1))
    samples = np.vstack([still, np.tile([0.0, 0.0, 0.2], (int(fs * 0.4), 1)), impact, lying])
    found = []
    step = int(fs)
    for i in range(0, len(samples), step):
        chunk = samples[i:i + step]
        found += fall.observe(AccelBatch(device="pendant", at=Stamp(i / fs + len(chunk) / fs, i / fs),
                                         samples=chunk, fs=fs))
    raised = [f for f in found if f.type == "fall"]
    assert raised and raised[0].cancel_window_s == 45.0
