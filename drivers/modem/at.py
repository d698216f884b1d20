"""AT response lines of the 3GPP TS 27.007 / 27.005 subset that SIMCom SIM7600 and Quectel EC2x share.

Pure: one decoded line in, a value out; a line that does not have the expected shape
raises ``AtError`` (a ValueError), whatever it holds. ``classify`` sorts a line that
arrives outside a command's answer into the unsolicited kinds the transport handles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CODE = re.compile(r"\+(CME|CMS) ERROR:\s*(.*)")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_NUMBER = re.compile(r"[0-9]{1,6}")
_MEMORY = re.compile(r"[A-Z]{2}")


class AtError(ValueError):
    """A response line that does not have the shape its command gives."""


@dataclass(frozen=True)
class Final:
    """A final result code: ``reason`` is "ok", "error", "cme_error:<n>" or "cms_error:<n>"."""

    ok: bool
    reason: str


def final_result(line: str) -> Final | None:
    """OK / ERROR / +CME ERROR: n / +CMS ERROR: n, else None (27.007 9.2, 27.005 3.2.5).
    A verbose error (``AT+CMEE=2`` left on by someone) keeps its text: ``cme_error:SIM not inserted``."""
    if line == "OK":
        return Final(True, "ok")
    if line == "ERROR":
        return Final(False, "error")
    m = _CODE.fullmatch(line)
    if m:
        return Final(False, f"{m.group(1).lower()}_error:{m.group(2).strip()[:40]}")
    return None


def fields(line: str, prefix: str) -> list[tuple[str, bool]]:
    """The comma-separated values after ``prefix``, each with whether it was quoted."""
    if not line.startswith(prefix):
        raise AtError(f"expected {prefix}")
    rest = line[len(prefix):].strip()
    out: list[tuple[str, bool]] = []
    value: list[str] = []
    quoted = in_quotes = False
    for ch in rest:
        if ch == '"':
            in_quotes = not in_quotes
            quoted = True
        elif ch == "," and not in_quotes:
            out.append(("".join(value).strip(), quoted))
            value, quoted = [], False
        else:
            value.append(ch)
    if in_quotes:
        raise AtError("unterminated quote")
    out.append(("".join(value).strip(), quoted))
    return out


def _int(text: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise AtError(f"not a number: {text[:20]!r}")
    return int(text)


# --- signal ---------------------------------------------------------------------------------

def csq_dbm(rssi: int) -> int | None:
    """27.007 8.5: 0 is -113 dBm or less, 1 -111, 2..30 -109..-53, 31 -51 or more, 99 unknown.
    100..191 are the TD-SCDMA extension in SIMCom's and Quectel's manuals (RSCP -116..-25 dBm)."""
    if 0 <= rssi <= 31:
        return -113 + 2 * rssi
    if 100 <= rssi <= 191:
        return -216 + rssi
    return None


def parse_csq(line: str) -> tuple[int | None, int | None]:
    """``+CSQ: <rssi>,<ber>`` -> (rssi, dBm); (None, None) for 99 (not known or not detectable)."""
    values = fields(line, "+CSQ:")
    if len(values) != 2:
        raise AtError("+CSQ has two values")
    rssi = _int(values[0][0])
    _int(values[1][0])
    dbm = csq_dbm(rssi)
    return (rssi if dbm is not None else None), dbm


# --- registration ---------------------------------------------------------------------------

# 27.007 7.2 <stat>; 6/7 (SMS only) and 9/10 (CSFB not preferred) still carry SMS; 8 is
# "attached for emergency bearer services only", which carries none.
_REGISTRATION = {0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown",
                 5: "roaming", 6: "home", 7: "roaming", 8: "not_registered", 9: "home", 10: "roaming"}
REGISTRATION_PREFIXES = ("+CREG:", "+CEREG:", "+CGREG:")
# Which of two sources (circuit-switched +CREG, LTE +CEREG) says the most: a hub on LTE-only
# coverage reports +CREG 0 while SMS go over LTE, so the better of the two is the hub's.
_RANK = ("home", "roaming", "searching", "denied", "not_registered", "unknown")


def registration_name(stat: int) -> str:
    return _REGISTRATION.get(stat, "unknown")


def best_registration(*names: str | None) -> str:
    known = [n for n in names if n in _RANK]
    return min(known, key=_RANK.index) if known else "unknown"


@dataclass(frozen=True)
class Registration:
    source: str   # "CREG", "CEREG" or "CGREG"
    stat: int
    solicited: bool  # the answer to a read (``<n>,<stat>``) rather than an unsolicited ``<stat>``

    @property
    def name(self) -> str:
        return registration_name(self.stat)


def parse_registration(line: str) -> Registration:
    """``+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]`` (read) or ``+CREG: <stat>[,<lac>,<ci>[,<AcT>]]``
    (unsolicited); the same for +CEREG and +CGREG. The read form's second value is unquoted,
    the unsolicited form's is the quoted location area code."""
    prefix = next((p for p in REGISTRATION_PREFIXES if line.startswith(p)), None)
    if prefix is None:
        raise AtError("not a registration line")
    values = fields(line, prefix)
    solicited = len(values) >= 2 and not values[1][1]
    stat = _int(values[1][0] if solicited else values[0][0])
    return Registration(prefix[1:-1], stat, solicited)


# --- SIM, operator --------------------------------------------------------------------------

def parse_cpin(line: str) -> str:
    """``+CPIN: READY`` -> "ready"; any PIN/PUK request -> "pin_required"; no SIM -> "absent"."""
    code = line[len("+CPIN:"):].strip().upper() if line.startswith("+CPIN:") else None
    if code is None:
        raise AtError("not a +CPIN line")
    if code == "READY":
        return "ready"
    if "PIN" in code or "PUK" in code:
        return "pin_required"
    if code in ("NOT INSERTED", "SIM REMOVED", "NO SIM", "NOT READY"):
        return "absent"  # Quectel says NOT READY when the SIM is pulled; SIMCom SIM REMOVED
    return "unknown"


def sim_state_from_error(reason: str) -> str | None:
    """What a +CME ERROR to ``AT+CPIN?`` says of the SIM (27.007 9.2.1)."""
    code = reason.partition(":")[2]
    if code in ("10", "SIM not inserted"):
        return "absent"
    if code in ("11", "12", "17", "18"):
        return "pin_required"
    return None


def parse_cops(line: str) -> str | None:
    """``+COPS: <mode>[,<format>,<oper>[,<AcT>]]`` -> the operator, None when not registered."""
    values = fields(line, "+COPS:")
    _int(values[0][0])
    if len(values) < 3:
        return None
    name = values[2][0]
    return name[:40] or None


# --- SMS ------------------------------------------------------------------------------------

def parse_cmgs(line: str) -> int:
    """``+CMGS: <mr>[,<ackpdu>]`` -> the message reference."""
    return _int(fields(line, "+CMGS:")[0][0])


def parse_cmti(line: str) -> tuple[str, int]:
    """``+CMTI: "SM",3`` -> ("SM", 3): a new SMS stored at index 3 of memory SM."""
    values = fields(line, "+CMTI:")
    if len(values) != 2 or not values[0][0]:
        raise AtError("+CMTI has a memory and an index")
    memory = values[0][0]
    if not _MEMORY.fullmatch(memory):  # SM, ME, MT, SR, BM: it goes back into AT+CPMS
        raise AtError("not a message storage")
    return memory, _int(values[1][0])


def parse_cmgr(line: str) -> tuple[int, int]:
    """PDU mode ``+CMGR: <stat>,[<alpha>],<length>`` -> (stat, TPDU length); the PDU is the next line."""
    values = fields(line, "+CMGR:")
    if len(values) < 2:
        raise AtError("+CMGR has a status and a length")
    return _int(values[0][0]), _int(values[-1][0])


def parse_cmgl(line: str) -> tuple[int, int, int]:
    """PDU mode ``+CMGL: <index>,<stat>,[<alpha>],<length>`` -> (index, stat, length)."""
    values = fields(line, "+CMGL:")
    if len(values) < 3:
        raise AtError("+CMGL has an index, a status and a length")
    return _int(values[0][0]), _int(values[1][0]), _int(values[-1][0])


def is_pdu(line: str) -> bool:
    return len(line) % 2 == 0 and _HEX.fullmatch(line) is not None


# --- lines outside a command ----------------------------------------------------------------

# The modem (re)started: echo is back on and every setting is lost.
BOOT = ("RDY", "START", "*ATREADY: 1")
# Said by these modems on their own and not needed here (incoming calls, boot progress, clocks).
IGNORED = ("RING", "NO CARRIER", "SMS DONE", "PB DONE", "SMS Ready", "Call Ready", "+CFUN:", "+CLIP:",
           "+CRING:", "+QIND:", "+CGEV:", "+CTZV:", "+CTZE:", "*PSUTTZ:", "+QUSIM:", "+CNSMOD:", "+CPSI:",
           "+CDS:", "+CDSI:", "+CBM:", "+QCSQ:", "+CGREG:", "VOICE CALL:", "+CMT:", "+QNITZ:", "DST:")


def classify(line: str) -> str:
    """"cmti", "registration", "cpin", "boot", "ignored", "result" (a final result nobody waits
    for: the late answer of a command that timed out) or "garbage"."""
    if line.startswith("+CMTI:"):
        return "cmti"
    if line.startswith(("+CREG:", "+CEREG:")):
        return "registration"
    if line.startswith("+CPIN:"):
        return "cpin"
    if line in BOOT:
        return "boot"
    if line.startswith(IGNORED):
        return "ignored"
    if final_result(line) is not None:
        return "result"
    return "garbage"
