"""The AT dialogue on an open port: one command at a time, each with a timeout.

Bytes come in through ``feed`` (from the serial link) and are cut into lines at CR or
LF. While a command runs, its echo is dropped, the lines that start with its answer's
prefix are its answer (with the PDU line that follows a ``+CMGR:``/``+CMGL:``), and the
final result code ends it; every other line (``+CMTI``, ``+CREG``, ``RING``, noise) goes
to ``on_unsolicited`` at once, command or not. ``AT+CMGS`` waits for the ``> `` prompt,
which ends no line, before the PDU and Ctrl-Z are written. A command that gets no final
result in time raises ``ModemError("timeout")`` after an ESC, which also takes a modem
stuck at the prompt back to command mode. Commands queue on a lock (FIFO), so a send,
a status poll and the reading of an incoming SMS never interleave on the wire.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.modem import at
from drivers.modem.types import ModemError

CTRL_Z = b"\x1a"
ESC = b"\x1b"
MAX_LINE = 1024  # the longest PDU line is 2 x (12 + 164) hex digits; longer is noise


@dataclass
class _Command:
    text: str
    prefixes: tuple[str, ...]
    done: asyncio.Future[at.Final]
    prompt: asyncio.Future[None] | None = None
    lines: list[str] = field(default_factory=list)
    echoes: set[str] = field(default_factory=set)
    pdu_next: bool = False


class AtChannel:
    def __init__(self, write: Callable[[bytes], bool], on_unsolicited: Callable[[str], None],
                 counters: Counter[str]) -> None:
        self._write = write
        self._on_unsolicited = on_unsolicited
        self.counters = counters
        self._buffer = bytearray()
        self._current: _Command | None = None
        self._lock = asyncio.Lock()

    # --- bytes in -------------------------------------------------------------------------

    def reset(self) -> None:
        """A new opening of the port: nothing of the last one's half lines."""
        self._buffer.clear()

    def close(self) -> None:
        """The port is gone: the command waiting for it fails now, not at its timeout."""
        self._buffer.clear()
        cmd = self._current
        if cmd is not None:
            for fut in (cmd.done, cmd.prompt):
                if fut is not None and not fut.done():
                    fut.set_exception(ModemError("closed", cmd.text))
                    fut.exception()  # retrieved here: nobody may be waiting on the prompt any more

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            cut = min((i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0), default=-1)
            if cut < 0:
                break
            raw = bytes(self._buffer[:cut])
            del self._buffer[:cut + 1]
            self._line(raw)
        if len(self._buffer) > MAX_LINE:
            self._buffer.clear()
            self._on_unsolicited("\x00overlong")
        cmd = self._current
        if cmd is not None and cmd.prompt is not None and not cmd.prompt.done() \
                and self._buffer.strip().startswith(b">"):
            self._buffer.clear()
            cmd.prompt.set_result(None)

    def _line(self, raw: bytes) -> None:
        line = raw.decode("latin-1").strip().strip("\x1a\x1b").strip()  # our Ctrl-Z / ESC echoed back
        if not line:
            return
        cmd = self._current
        if cmd is None or cmd.done.done():
            self._on_unsolicited(line)
            return
        if cmd.pdu_next:
            cmd.pdu_next = False
            if at.is_pdu(line):
                cmd.lines.append(line)
                return
        if line in cmd.echoes:
            return
        final = at.final_result(line)
        if final is not None:
            cmd.done.set_result(final)
            return
        if line.startswith(cmd.prefixes) and not self._unsolicited_form(line):
            cmd.lines.append(line)
            cmd.pdu_next = line.startswith(("+CMGR:", "+CMGL:"))
            return
        self._on_unsolicited(line)

    @staticmethod
    def _unsolicited_form(line: str) -> bool:
        """``+CREG: 2`` during ``AT+CREG?`` is the network speaking, not the answer (``+CREG: 1,2``)."""
        if line.startswith(at.REGISTRATION_PREFIXES):
            try:
                return not at.parse_registration(line).solicited
            except at.AtError:
                return False
        return False

    # --- commands -------------------------------------------------------------------------

    async def command(self, text: str, *, within_s: float, prefixes: tuple[str, ...] = ()) -> list[str]:
        """Send ``text``; its answer lines on OK, ModemError(reason) on an error or no answer."""
        async with self._lock:
            cmd = self._start(text, prefixes)
            try:
                if not self._write(text.encode("ascii") + b"\r"):
                    raise ModemError("closed", text)
                final = await self._wait(cmd, cmd.done, within_s)
            finally:
                self._current = None
            return self._result(cmd, final)

    async def submit(self, length: int, pdu: str, *, prompt_timeout: float, send_timeout: float) -> int:
        """``AT+CMGS=<length>``, the prompt, the PDU and Ctrl-Z: the message reference the network gave."""
        async with self._lock:
            text = f"AT+CMGS={length}"
            cmd = self._start(text, ("+CMGS:",))
            cmd.prompt = asyncio.get_running_loop().create_future()
            cmd.echoes.add(pdu)
            try:
                if not self._write(text.encode("ascii") + b"\r"):
                    raise ModemError("closed", text)
                first = await self._wait_either(cmd, prompt_timeout)
                if first is cmd.prompt:
                    if not self._write(pdu.encode("ascii") + CTRL_Z):
                        raise ModemError("closed", text)
                    final = await self._wait(cmd, cmd.done, send_timeout)
                else:
                    final = cmd.done.result()
            except asyncio.CancelledError:
                self._write(ESC)  # the caller gave up: leave no modem waiting at the prompt
                raise
            finally:
                self._current = None
            lines = self._result(cmd, final)
            try:
                return at.parse_cmgs(next(line for line in lines if line.startswith("+CMGS:")))
            except (StopIteration, at.AtError) as exc:
                raise ModemError("error", "OK without +CMGS: <mr>") from exc

    def _start(self, text: str, prefixes: tuple[str, ...]) -> _Command:
        cmd = _Command(text, prefixes, asyncio.get_running_loop().create_future(), echoes={text})
        self._current = cmd
        return cmd

    async def _wait(self, cmd: _Command, fut: asyncio.Future[at.Final], within_s: float) -> at.Final:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
        # comes as the answer does, and a session that cannot be cancelled never lets go of the port.
        try:
            async with asyncio.timeout(within_s):
                return await asyncio.shield(fut)
        except TimeoutError:
            self._timed_out(cmd)
            raise ModemError("timeout", cmd.text) from None

    async def _wait_either(self, cmd: _Command, within_s: float) -> asyncio.Future[Any]:
        assert cmd.prompt is not None
        waiters: set[asyncio.Future[Any]] = {cmd.prompt, cmd.done}
        done, _ = await asyncio.wait(waiters, timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
        if not done:
            self._timed_out(cmd)
            raise ModemError("timeout", f"{cmd.text} (no prompt)")
        first: asyncio.Future[Any] = cmd.prompt if cmd.prompt in done else cmd.done
        first.result()  # a closed port raises here
        return first

    def _timed_out(self, cmd: _Command) -> None:
        self.counters["timeouts"] += 1
        self._write(ESC)
        for fut in (cmd.done, cmd.prompt):
            if fut is not None and not fut.done():
                fut.cancel()

    def _result(self, cmd: _Command, final: at.Final) -> list[str]:
        if final.ok:
            return cmd.lines
        kind = final.reason.partition(":")[0]
        self.counters["cms_errors" if kind == "cms_error" else "cme_errors" if kind == "cme_error" else "errors"] += 1
        raise ModemError(final.reason, cmd.text)
