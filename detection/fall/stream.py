"""One wearable's samples on one even timeline at the detector's own rate.

Two jobs, both about making the answer depend on the samples alone:

* **Timing.** A BLE wearable delivers samples in batches; a batch can arrive
  late or early by seconds (radio retries, a busy hub, a watch that flushes its
  buffer in bursts). The batch's arrival time says little about when its
  samples were taken, the sample count says everything. So the timeline is the
  count of samples since the stream began, anchored to the hub's clock by the
  earliest arrival seen (a sample cannot arrive before it was taken) and
  following a slow drift of the wearable's clock. Only a real gap restarts it:
  a sequence-number jump, a change of rate, or (for profiles without sequence
  numbers) a batch so late that samples must be missing.
* **Rate.** Input at any rate (20-100 Hz) is resampled to ``FS`` Hz (a box
  filter against aliasing first when the input is faster), so every window and
  every learned threshold means the same thing on every wearable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detection.events import AccelBatch, Stamp

FS = 50.0  # internal rate, Hz
# A batch this much later than the sample count says, without a sequence number
# to vouch that nothing was lost, means samples were lost.
MAX_LATE_S = 3.0
# With consecutive sequence numbers nothing was lost; still, a batch minutes late
# is another connection whose counter happens to match.
MAX_LATE_WITH_SEQ_S = 30.0
# How fast the anchor follows batches that arrive later than it says (the
# wearable's clock running slow against the hub's): 2 % of the batch's length.
DRIFT = 0.02


@dataclass
class Arrival:
    """What one batch did to the stream."""

    restarted: bool  # the timeline began again (first batch, or a real gap)
    reason: str = ""


class SampleStream:
    """Samples in, evenly spaced ``FS`` Hz samples out; a timeline that maps them to hub time."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.fs_in = 0.0
        self._origin = 0.0  # hub time of input sample 0
        self._local_offset = 0.0
        self._synced = False
        self._n_in = 0
        self._last_seq: int | None = None
        self._tail = np.zeros((0, 3))  # last input samples, for the box filter and the interpolation
        self._tail_start = 0  # input index of _tail[0]
        self.n_out = 0  # internal samples produced since the start

    @property
    def started(self) -> bool:
        return self._n_in > 0

    def arrive(self, batch: AccelBatch) -> Arrival:
        """Place ``batch`` on the timeline; restarts (and says why) if samples were lost."""
        n = len(batch.samples)
        reason = ""
        if self._n_in:
            candidate = batch.at.t - (self._n_in + n - 1) / self.fs_in
            late = candidate - self._origin
            if batch.fs != self.fs_in:
                reason = "rate changed"
            elif batch.seq is not None and self._last_seq is not None and batch.seq != (self._last_seq + 1) % 65536:
                reason = "sequence gap"
            elif late > (MAX_LATE_WITH_SEQ_S if batch.seq is not None and self._last_seq is not None
                         else MAX_LATE_S):
                reason = "samples missing"
            elif late < 0:
                self._origin = candidate
            else:
                self._origin += min(late, DRIFT * n / self.fs_in)
        if not self._n_in or reason:
            self._reset()
            self.fs_in = batch.fs
            self._origin = batch.at.t - (n - 1) / batch.fs
        self._local_offset = batch.at.local - batch.at.t
        self._synced = batch.at.synced
        self._last_seq = batch.seq
        return Arrival(restarted=self._n_in == 0, reason=reason)

    def resample(self, samples: np.ndarray) -> np.ndarray:
        """The new ``FS`` Hz samples that ``samples`` (just placed by ``arrive``) complete."""
        fs = self.fs_in
        self._n_in += len(samples)
        if fs == FS:
            self.n_out += len(samples)
            return samples
        width = max(1, round(fs / FS))
        tail = np.concatenate([self._tail, samples])
        if width > 1:
            # Causal box filter over `width` input samples (the first ones average what exists).
            c = np.cumsum(np.concatenate([np.zeros((1, 3)), tail]), axis=0)
            idx = np.arange(1, len(tail) + 1)
            lo = np.maximum(0, idx - width)
            filt = (c[idx] - c[lo]) / (idx - lo)[:, None]
        else:
            filt = tail
        # Output sample k sits at input position k * fs / FS.
        last_in = self._n_in - 1
        k_end = int(np.floor(last_in * FS / fs + 1e-9)) + 1
        k = np.arange(self.n_out, k_end)
        out = np.zeros((0, 3))
        if k.size:
            pos = k * fs / FS - self._tail_start
            i0 = np.clip(np.floor(pos).astype(int), 0, len(filt) - 1)
            i1 = np.minimum(i0 + 1, len(filt) - 1)
            frac = (pos - i0)[:, None]
            out = filt[i0] * (1 - frac) + filt[i1] * frac
            self.n_out = k_end
        keep = width + 2  # enough input history for the filter and the next interpolation
        if len(tail) > keep:
            # The filtered values of kept samples must not change: keep the raw ones they need.
            self._tail_start += len(tail) - keep
            tail = tail[-keep:]
        self._tail = tail
        return out

    def stamp(self, k: float) -> Stamp:
        """Hub time of internal sample ``k``."""
        t = self._origin + k / FS
        return Stamp(t, t + self._local_offset, self._synced)
