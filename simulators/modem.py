"""A cellular modem (SIM7600 / EC2x dialect) on a pseudo-terminal, speaking the AT dialogue.

The hub opens the pty exactly as it opens the modem's ``/dev/ttyUSB2``, through a stable
link path. It echoes until ``ATE0``, answers the 27.007/27.005 subset the driver uses,
gives the ``> `` prompt to ``AT+CMGS=<n>``, takes the PDU up to Ctrl-Z (ESC aborts),
answers ``+CMGS: <mr>``, decodes and reassembles what it was asked to send (``sent``),
and announces an incoming SMS (``deliver``) with ``+CMTI`` as a real one stores it.

Faults on demand: refuse the next sends (``+CMS ERROR``), answer late, lose and regain
registration, no SIM, hang (now, or in the middle of a given command), line noise,
a restart (``RDY``), and ``vanish``/``reappear`` for a pulled USB plug.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import random
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drivers.modem.pdu import encode_deliver
from simulators import pty_device
from simulators.modem_sms import SentMessages, SentSms, SimStorage

CTRL_Z, ESC = 0x1A, 0x1B
__all__ = ["ModemEmulator", "SentSms"]


class ModemEmulator(pty_device.Pluggable):
    """Call ``start()``; then ``link`` is the path to configure as the modem's AT port."""

    def __init__(self, link: str | Path, *, operator: str = "CHINA MOBILE", csq: int = 20,
                 on_sent: Callable[[SentSms], None] | None = None) -> None:
        self.link = Path(link)
        self.operator = operator
        self.csq = csq
        self.sim = "ready"           # ready | absent | pin
        self.stat = 1                # +CREG/+CEREG <stat>: 1 home, 2 searching, 5 roaming ...
        self._outbox = SentMessages(on_sent)
        self.sent: list[SentSms] = self._outbox.sent
        self.commands: list[str] = []
        self._sim = SimStorage()
        self.storage = self._sim.slots  # index -> (stat, pdu); stat 0 unread, 1 read
        self.refused = 0
        self.dropped_bytes = 0
        self._refuse: list[int | None] = []  # +CMS ERROR codes for the next sends (None: let it go)
        self._delay_s = 0.0
        self._hung = False
        self._hang_on: str | None = None
        self._deliver_ref = random.randrange(256)
        self._reset_settings()
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def on_sent(self) -> Callable[[SentSms], None] | None:
        """Called (in the emulator's thread) with every SMS the hub sent, once all its parts came."""
        return self._outbox.on_sent

    @on_sent.setter
    def on_sent(self, callback: Callable[[SentSms], None] | None) -> None:
        self._outbox.on_sent = callback

    def _reset_settings(self) -> None:
        self.echo = True
        self.cnmi = False
        self.creg_n = 0
        self.cereg_n = 0

    # --- plug ---------------------------------------------------------------------------

    def start(self) -> ModemEmulator:
        self._open()
        return self

    def _open(self) -> None:
        master, slave = pty_device.plug(self.link)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._running = True
        self._thread = threading.Thread(target=self._read_loop, args=(master,), daemon=True)
        self._thread.start()

    def _close(self) -> None:
        self._running = False
        pty_device.close_ends(self._lock, self._master, self._slave)
        self._master = self._slave = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None

    def write_raw(self, data: bytes) -> None:
        """Write to the hub; what a hub that stopped reading has not taken within 2 s is dropped
        (counted in ``dropped_bytes``), so ``stop()`` never waits behind a full pty."""
        with self._lock:
            if self._master is None:
                raise RuntimeError("the emulated modem is unplugged")
            view = memoryview(data)
            deadline = time.monotonic() + 2.0
            while view:
                _, writable, _ = select.select([], [self._master], [], max(0.0, deadline - time.monotonic()))
                if not writable:
                    self.dropped_bytes += len(view)
                    return
                try:
                    view = view[os.write(self._master, view):]
                except BlockingIOError:
                    continue

    def _say(self, *lines: str) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.write_raw(b"".join(b"\r\n" + line.encode("utf-8") + b"\r\n" for line in lines))

    # --- faults and the network ---------------------------------------------------------

    def refuse(self, count: int = 1, code: int = 500, *, after: int = 0) -> None:
        """The next ``count`` sends (after ``after`` that go through: the second part of a long SMS)
        end in ``+CMS ERROR: <code>`` (500 unknown error, 331 no network service...)."""
        with self._lock:
            self._refuse += [None] * after + [code] * count

    def delay(self, seconds: float) -> None:
        """Answer every command ``seconds`` late."""
        self._delay_s = seconds

    def hang(self, on: str | None = None) -> None:
        """Stop answering: now, or (``on``) from the next command that starts with it; for
        ``AT+CMGS`` the prompt still comes and the PDU is swallowed, as a modem that hangs
        mid-send does."""
        with self._lock:
            if on is None:
                self._hung = True
            else:
                self._hang_on = on

    def unhang(self) -> None:
        with self._lock:
            self._hung = False
            self._hang_on = None

    def set_registration(self, stat: int) -> None:
        """Change ``<stat>`` and say so (``+CREG: <stat>``) where the hub asked to hear it."""
        self.stat = stat
        if self.creg_n:
            self._say(f"+CREG: {stat}")
        if self.cereg_n:
            self._say(f"+CEREG: {stat}")

    def lose_registration(self, stat: int = 2) -> None:
        self.set_registration(stat)

    def regain_registration(self, stat: int = 1) -> None:
        self.set_registration(stat)

    def remove_sim(self) -> None:
        self.sim = "absent"
        self._say("+CPIN: NOT READY")
        self.set_registration(0)

    def insert_sim(self) -> None:
        self.sim = "ready"
        self._say("+CPIN: READY", "SMS DONE")
        self.set_registration(1)

    def garbage(self, lines: int = 10, *, seed: int = 0) -> None:
        """Line noise: random bytes in random lengths, each ending a line."""
        rng = random.Random(seed)
        noise = b"".join(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))).replace(b"\r", b"")
                         .replace(b"\n", b"") + b"\r\n" for _ in range(lines))
        with contextlib.suppress(OSError, RuntimeError):
            self.write_raw(noise)

    def restart(self) -> None:
        """The modem reboots on its own: settings gone, echo back on, ``RDY``."""
        self._reset_settings()
        self._say("RDY", "+CPIN: READY", "SMS DONE")

    def deliver(self, sender: str, text: str, sent_at: dt.datetime | None = None) -> list[int]:
        """An SMS from ``sender`` reaches the modem: stored (concatenated parts each in its own
        slot) and announced with ``+CMTI``. The storage indices used."""
        when = sent_at or dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
        self._deliver_ref = (self._deliver_ref + 1) % 256
        with self._lock:
            indices = self._sim.store(encode_deliver(sender, text, when, concat_ref=self._deliver_ref,
                                                     smsc="+8613800100500"))
        for index in indices:
            if self.cnmi:
                self._say(f'+CMTI: "SM",{index}')
        return indices

    # --- the dialogue -------------------------------------------------------------------

    def _read_loop(self, master: int) -> None:
        buf = bytearray()
        prompt_length: int | None = None
        while self._running:
            try:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            for byte in chunk:
                if prompt_length is not None:
                    if byte in (CTRL_Z, ESC):
                        pdu = buf.decode("latin-1").strip()
                        buf.clear()
                        length, prompt_length = prompt_length, None
                        if byte == CTRL_Z:
                            self._answer(functools.partial(self._submitted, length, pdu))
                    else:
                        buf.append(byte)
                    continue
                if byte == ord("\r"):
                    line = buf.decode("latin-1").strip()
                    buf.clear()
                    if line:
                        prompt_length = self._command(line)
                elif byte not in (ord("\n"), ESC, CTRL_Z):  # an ESC outside the prompt is ignored
                    buf.append(byte)
                    if len(buf) > 4096:
                        buf.clear()

    def _answer(self, respond: Callable[[], list[str]]) -> None:
        with self._lock:
            if self._hung:
                return
        if self._delay_s:
            time.sleep(self._delay_s)
        self._say(*respond())

    def _command(self, line: str) -> int | None:
        """Answer one command line; the PDU length when it was ``AT+CMGS=<n>`` and a prompt went out."""
        self.commands.append(line)
        if self.echo and not self._hung:
            with contextlib.suppress(OSError, RuntimeError):
                self.write_raw(line.encode("latin-1") + b"\r")
        with self._lock:
            if self._hang_on is not None and line.upper().startswith(self._hang_on.upper()):
                self._hang_on = None
                self._hung = True
                if line.upper().startswith("AT+CMGS="):
                    with contextlib.suppress(OSError, RuntimeError):
                        self.write_raw(b"\r\n> ")
                    return 0
            if self._hung:
                return None
        upper = line.upper()
        if upper.startswith("AT+CMGS="):
            try:
                length = int(line[8:])
            except ValueError:
                self._answer(lambda: ["+CMS ERROR: 304"])
                return None
            if self.sim != "ready":
                self._answer(lambda: ["+CMS ERROR: 310"])
                return None
            if self._delay_s:
                time.sleep(self._delay_s)
            with contextlib.suppress(OSError, RuntimeError):
                self.write_raw(b"\r\n> ")
            return length
        self._answer(lambda: self._reply(line, upper))
        return None

    def _reply(self, line: str, upper: str) -> list[str]:
        if upper == "AT":
            return ["OK"]
        if upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
            return ["OK"]
        if upper.startswith(("AT+CMEE=", "AT+CMGF=", "AT+CSCS=")):
            return ["OK"]
        if upper.startswith("AT+CNMI="):
            if self.sim != "ready":
                return ["+CMS ERROR: 310"]
            self.cnmi = upper.split("=", 1)[1].split(",")[1:2] != ["0"]
            return ["OK"]
        if upper.startswith(("AT+CREG=", "AT+CEREG=")):
            n = int(upper.split("=", 1)[1] or 0)
            if upper.startswith("AT+CREG="):
                self.creg_n = n
            else:
                self.cereg_n = n
            return ["OK"]
        if upper == "AT+CPIN?":
            return {"ready": ["+CPIN: READY", "OK"], "pin": ["+CPIN: SIM PIN", "OK"]}.get(
                self.sim, ["+CME ERROR: 10"])
        if upper == "AT+CSQ":
            return [f"+CSQ: {self.csq if self.sim == 'ready' else 99},99", "OK"]
        if upper == "AT+CREG?":
            return [f"+CREG: {self.creg_n},{self.stat}", "OK"]
        if upper == "AT+CEREG?":
            return [f"+CEREG: {self.cereg_n},{self.stat}", "OK"]
        if upper == "AT+COPS?":
            registered = self.stat in (1, 5)
            return [f'+COPS: 0,0,"{self.operator}",7' if registered else "+COPS: 0", "OK"]
        if upper.startswith(("AT+CPMS=", "AT+CMGR=", "AT+CMGD=", "AT+CMGL=")):
            if self.sim != "ready":
                return ["+CMS ERROR: 310"]
            with self._lock:
                return self._sim.answer(upper)
        return ["ERROR"]

    def _submitted(self, length: int, pdu: str) -> list[str]:
        with self._lock:
            code = self._refuse.pop(0) if self._refuse else None
            if code is not None:
                self.refused += 1
                return [f"+CMS ERROR: {code}"]
            if self.stat not in (1, 5):
                return ["+CMS ERROR: 331"]  # no network service
            return self._outbox.submit(length, pdu)


