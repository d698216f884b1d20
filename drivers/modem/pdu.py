"""SMS PDUs for PDU mode (``AT+CMGF=0``): SMS-SUBMIT out, SMS-DELIVER in (3GPP TS 23.040).

Pure: text and numbers in, hex out, and back. PDU mode rather than text mode,
because text mode cannot carry a user data header (no concatenation) and its
character handling depends on ``AT+CSCS`` and on each modem's firmware; in PDU
mode the hub decides every octet and Simplified Chinese arrives intact.

Alphabet: the GSM 7-bit default alphabet when every character of the text is in it,
else UCS-2 (DCS 0x08). 7-bit carries 160 characters per SMS against 70, so an English
alert stays one SMS (one send that can fail instead of three, and one part for the
phone to lose), and every handset since the first one shows it; anything outside it
(Chinese, an emoji) needs UCS-2. A long text is split into parts with a concatenation
header (IEI 0x00, 8-bit reference): 153 septets or 67 UCS-2 units a part, 160/70 alone.
A UCS-2 part never ends between the two halves of a surrogate pair, a 7-bit part never
between an escape and its extension character.

Every decoding error is a ``PduError`` (a ValueError), whatever the bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from drivers.modem import gsm7

DCS_GSM7 = 0x00
DCS_8BIT = 0x04
DCS_UCS2 = 0x08
VP_24H = 0xA7  # relative validity period (23.040 9.2.3.12.1): 12 h + (0xA7 - 143) x 30 min = 24 h
MAX_PARTS = 255
_SINGLE = {DCS_GSM7: 160, DCS_UCS2: 70}
_PART = {DCS_GSM7: 153, DCS_UCS2: 67}
_SEMI = "0123456789*#abc"  # 23.040 9.1.2.3: semi-octet values 10..14; 15 is the filler
_NUMBER_CLEAN = str.maketrans("", "", " -().")


class PduError(ValueError):
    """A PDU or an address that cannot be encoded or decoded."""


@dataclass(frozen=True)
class Concat:
    ref: int
    total: int
    seq: int
    ref_bits: int = 8


@dataclass(frozen=True)
class SubmitPart:
    """One SMS-SUBMIT: ``pdu`` (hex, SMSC octets first) and ``tpdu_length`` for ``AT+CMGS=<n>``."""

    pdu: str
    tpdu_length: int
    seq: int
    total: int


@dataclass(frozen=True)
class Submit:
    """A decoded SMS-SUBMIT (what a modem is asked to send)."""

    number: str
    text: str
    dcs: int
    concat: Concat | None
    reference: int


@dataclass(frozen=True)
class Deliver:
    """A decoded SMS-DELIVER (one received part)."""

    sender: str
    text: str
    sent_at: dt.datetime | None
    dcs: int
    concat: Concat | None
    smsc: str | None


# --- addresses ------------------------------------------------------------------------------

def normalise_number(number: str) -> str:
    """``+86 138-0000-0000`` -> ``+8613800000000``; PduError when it is not a dialable number."""
    cleaned = number.translate(_NUMBER_CLEAN)
    digits = cleaned[1:] if cleaned.startswith("+") else cleaned
    if not digits or len(digits) > 20 or any(c not in "0123456789*#" for c in digits):
        raise PduError(f"not a phone number: {number!r}")
    return cleaned


def _semi_octets(digits: str) -> bytes:
    values = [_SEMI.index(c) for c in digits] + ([0x0F] if len(digits) % 2 else [])
    return bytes(values[i] | values[i + 1] << 4 for i in range(0, len(values), 2))


def encode_address(number: str) -> bytes:
    """Destination/originating address field: digit count, type of address, swapped digits.
    ``+`` gives 0x91 (international, E.164), anything else 0x81 (unknown: as dialled)."""
    cleaned = normalise_number(number)
    international = cleaned.startswith("+")
    digits = cleaned[1:] if international else cleaned
    return bytes([len(digits), 0x91 if international else 0x81]) + _semi_octets(digits)


def encode_alphanumeric(name: str) -> bytes:
    """An alphanumeric originator (a network's or a bank's name): 7-bit packed, type 0xD0."""
    septets = gsm7.to_septets(name)
    if len(septets) > 11:
        raise PduError("an alphanumeric address holds at most 11 septets")
    packed = gsm7.pack(septets)
    return bytes([(len(septets) * 7 + 3) // 4, 0xD0]) + packed


def encode_smsc(number: str | None) -> bytes:
    if not number:
        return b"\x00"  # use the SMSC stored on the SIM (AT+CSCA)
    field = encode_address(number)
    return bytes([len(field) - 1]) + field[1:]  # the SMSC length counts octets, not digits


def _read_digits(raw: bytes, count: int) -> str:
    out: list[str] = []
    for byte in raw:
        for nibble in (byte & 0x0F, byte >> 4):
            if nibble != 0x0F and len(out) < count:
                out.append(_SEMI[nibble])
    return "".join(out)


def _read_address(data: bytes, pos: int) -> tuple[str, int]:
    if pos + 2 > len(data):
        raise PduError("address runs past the end")
    count, toa = data[pos], data[pos + 1]
    size = (count + 1) // 2
    raw = data[pos + 2:pos + 2 + size]
    if len(raw) < size:
        raise PduError("address runs past the end")
    kind = (toa >> 4) & 0x07
    if kind == 5:  # alphanumeric, 23.040 9.1.2.5
        text = gsm7.from_septets(gsm7.unpack(raw, count * 4 // 7))
    else:
        text = ("+" if kind == 1 else "") + _read_digits(raw, count)
    return text, pos + 2 + size


def _read_smsc(data: bytes) -> tuple[str | None, int]:
    if not data:
        raise PduError("empty PDU")
    size = data[0]
    if size == 0:
        return None, 1
    if 1 + size > len(data):
        raise PduError("SMSC address runs past the end")
    raw = data[1:1 + size]
    digits = _read_digits(raw[1:], 2 * (size - 1))
    return ("+" if (raw[0] >> 4) & 0x07 == 1 else "") + digits, 1 + size


# --- time stamps ----------------------------------------------------------------------------

def _swap(byte: int) -> int:
    lo, hi = byte & 0x0F, byte >> 4
    if lo > 9 or hi > 9:
        raise ValueError
    return lo * 10 + hi


def decode_timestamp(raw: bytes) -> dt.datetime | None:
    """TP-SCTS (23.040 9.2.3.11): swapped BCD, zone in quarter hours with the sign in bit 3.
    None for a stamp no calendar holds: the message matters more than its time."""
    if len(raw) != 7:
        return None
    try:
        year, month, day, hour, minute, second = (_swap(b) for b in raw[:6])
        tz = raw[6]
        quarters = (tz & 0x07) * 10 + (tz >> 4)
        if tz >> 4 > 9:
            return None
        offset = dt.timedelta(minutes=15 * quarters) * (-1 if tz & 0x08 else 1)
        return dt.datetime(2000 + year, month, day, hour, minute, second, tzinfo=dt.timezone(offset))
    except ValueError:
        return None


def encode_timestamp(when: dt.datetime) -> bytes:
    offset = when.utcoffset() or dt.timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    fields = [when.year % 100, when.month, when.day, when.hour, when.minute, when.second]
    out = bytes((v % 10) << 4 | v // 10 for v in fields)
    tz = (quarters % 10) << 4 | (quarters // 10) | (0x08 if offset < dt.timedelta(0) else 0)
    return out + bytes([tz])


# --- user data ------------------------------------------------------------------------------

def split_text(text: str) -> tuple[int, list[str]]:
    """The data coding scheme and the text of each part."""
    dcs = DCS_GSM7 if gsm7.encodable(text) else DCS_UCS2
    cost = gsm7.char_septets if dcs == DCS_GSM7 else (lambda ch: 2 if ord(ch) > 0xFFFF else 1)
    if sum(cost(ch) for ch in text) <= _SINGLE[dcs]:
        return dcs, [text]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        n = cost(ch)
        if used + n > _PART[dcs]:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += n
    parts.append("".join(current))
    if len(parts) > MAX_PARTS:
        raise PduError(f"text needs {len(parts)} parts; a concatenated SMS has at most {MAX_PARTS}")
    return dcs, parts


def _user_data(dcs: int, text: str, udh: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for one part; ``udh`` includes its length octet, or is empty."""
    if dcs == DCS_UCS2:
        payload = text.encode("utf-16-be")
        return len(udh) + len(payload), udh + payload
    septets = gsm7.to_septets(text)
    fill = (7 - len(udh) * 8 % 7) % 7
    header_septets = (len(udh) * 8 + fill) // 7
    return header_septets + len(septets), udh + gsm7.pack(septets, fill)


def _concat_udh(ref: int, total: int, seq: int) -> bytes:
    return bytes([5, 0x00, 3, ref & 0xFF, total, seq]) if total > 1 else b""


def alphabet(dcs: int) -> int:
    """DCS_GSM7, DCS_8BIT or DCS_UCS2 for a TP-DCS octet (23.038 section 4)."""
    group = dcs >> 4
    if group <= 0x7:
        if dcs & 0x20:
            raise PduError("compressed text is not supported")
        return {0: DCS_GSM7, 1: DCS_8BIT, 2: DCS_UCS2, 3: DCS_GSM7}[(dcs >> 2) & 0x03]
    if group == 0xE:
        return DCS_UCS2
    if group == 0xF:
        return DCS_8BIT if dcs & 0x04 else DCS_GSM7
    return DCS_GSM7  # 0xC/0xD (message waiting) and the reserved groups: the default alphabet


def _parse_udh(header: bytes) -> Concat | None:
    concat = None
    i = 0
    while i + 2 <= len(header):
        iei, size = header[i], header[i + 1]
        data = header[i + 2:i + 2 + size]
        if len(data) < size:
            raise PduError("user data header element runs past the header")
        if iei == 0x00 and size == 3:
            concat = Concat(data[0], data[1], data[2], 8)
        elif iei == 0x08 and size == 4:
            concat = Concat(data[0] << 8 | data[1], data[2], data[3], 16)
        i += 2 + size
    if concat is not None and not 1 <= concat.seq <= concat.total:
        return None  # 23.040 9.2.3.24.1: a bad sequence number means "ignore the element"
    return concat


def _read_user_data(dcs: int, udhi: bool, data: bytes, pos: int) -> tuple[str, Concat | None]:
    if pos >= len(data):
        raise PduError("no user data length")
    udl = data[pos]
    ud = data[pos + 1:]
    kind = alphabet(dcs)
    concat = None
    header_len = 0
    if udhi:
        if not ud or 1 + ud[0] > len(ud):
            raise PduError("user data header runs past the end")
        header_len = 1 + ud[0]
        concat = _parse_udh(ud[1:header_len])
    if kind == DCS_GSM7:
        fill = (7 - header_len * 8 % 7) % 7
        count = udl - (header_len * 8 + fill) // 7
        if count < 0:
            raise PduError("user data length shorter than its header")
        return gsm7.from_septets(gsm7.unpack(ud[header_len:], count, fill)), concat
    # A short user data is decoded as far as it goes: a truncated reply can still say "OK <id>".
    payload = ud[header_len:udl]
    if kind == DCS_UCS2:
        return payload[:len(payload) // 2 * 2].decode("utf-16-be", errors="replace"), concat
    try:
        return payload.decode("utf-8"), concat
    except UnicodeDecodeError:
        return payload.decode("latin-1"), concat


def _from_hex(pdu: str | bytes) -> bytes:
    try:
        return bytes.fromhex(pdu.decode("ascii") if isinstance(pdu, bytes) else pdu)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PduError("not a hexadecimal PDU") from exc


# --- SMS-SUBMIT -----------------------------------------------------------------------------

def encode_submit(number: str, text: str, *, concat_ref: int = 0, validity: int | None = VP_24H,
                  smsc: str | None = None, reject_duplicates: bool = False,
                  status_report: bool = False) -> list[SubmitPart]:
    """The SMS-SUBMIT PDUs for ``text`` to ``number``; the modem sets TP-MR (sent as 0).

    ``validity`` is a relative TP-VP octet (None: none sent); the default asks the network to
    give up after 24 h, since an alarm older than that is better not delivered at all.
    """
    dcs, parts = split_text(text)
    address = encode_address(number)
    smsc_field = encode_smsc(smsc)
    total = len(parts)
    out = []
    for seq, chunk in enumerate(parts, start=1):
        udh = _concat_udh(concat_ref, total, seq)
        first = 0x01 | (0x04 if reject_duplicates else 0) | (0x10 if validity is not None else 0) \
            | (0x20 if status_report else 0) | (0x40 if udh else 0)
        udl, ud = _user_data(dcs, chunk, udh)
        tpdu = bytes([first, 0x00]) + address + bytes([0x00, dcs]) \
            + (bytes([validity]) if validity is not None else b"") + bytes([udl]) + ud
        out.append(SubmitPart((smsc_field + tpdu).hex().upper(), len(tpdu), seq, total))
    return out


def decode_submit(pdu: str | bytes) -> Submit:
    data = _from_hex(pdu)
    try:
        _smsc, pos = _read_smsc(data)
        first = data[pos]
        if first & 0x03 != 0x01:
            raise PduError("not an SMS-SUBMIT")
        reference = data[pos + 1]
        number, pos = _read_address(data, pos + 2)
        dcs = data[pos + 1]
        pos += 2 + {0x00: 0, 0x10: 1, 0x08: 7, 0x18: 7}[first & 0x18]
        text, concat = _read_user_data(dcs, bool(first & 0x40), data, pos)
    except IndexError as exc:
        raise PduError("PDU ends early") from exc
    return Submit(number, text, dcs, concat, reference)


# --- SMS-DELIVER ----------------------------------------------------------------------------

def encode_deliver(sender: str, text: str, sent_at: dt.datetime, *, concat_ref: int = 0,
                   smsc: str | None = None) -> list[str]:
    """SMS-DELIVER PDUs as a network would hand them to the modem (used by the emulator)."""
    dcs, parts = split_text(text)
    try:
        address = encode_address(sender)
    except PduError:
        address = encode_alphanumeric(sender)
    out = []
    for seq, chunk in enumerate(parts, start=1):
        udh = _concat_udh(concat_ref, len(parts), seq)
        udl, ud = _user_data(dcs, chunk, udh)
        first = 0x04 | (0x40 if udh else 0)  # 0x04: TP-MMS, no more messages waiting
        tpdu = bytes([first]) + address + bytes([0x00, dcs]) + encode_timestamp(sent_at) + bytes([udl]) + ud
        out.append((encode_smsc(smsc) + tpdu).hex().upper())
    return out


def decode_deliver(pdu: str | bytes) -> Deliver:
    data = _from_hex(pdu)
    try:
        smsc, pos = _read_smsc(data)
        first = data[pos]
        if first & 0x03 != 0x00:
            raise PduError("not an SMS-DELIVER")
        sender, pos = _read_address(data, pos + 1)
        dcs = data[pos + 1]
        sent_at = decode_timestamp(data[pos + 2:pos + 9])
        if pos + 9 > len(data):
            raise PduError("PDU ends early")
        text, concat = _read_user_data(dcs, bool(first & 0x40), data, pos + 9)
    except IndexError as exc:
        raise PduError("PDU ends early") from exc
    return Deliver(sender, text, sent_at, alphabet(dcs), concat, smsc)
