"""The GSM 7-bit default alphabet (3GPP TS 23.038 section 6.2.1) and septet packing.

Pure: text in, septets or octets out. A character of the extension table costs two
septets (the escape 0x1B and its code), so lengths here are in septets, never in
characters; a message is never split between an escape and its code.
"""

from __future__ import annotations

from collections.abc import Sequence

# 3GPP TS 23.038 table 6.2.1: index = septet value. 0x1B is the escape to the extension table.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
ESCAPE = 0x1B
# 3GPP TS 23.038 table 6.2.1.1, the default extension table.
EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
             0x3E: "]", 0x40: "|", 0x65: "€"}

_TO_BASIC = {ch: i for i, ch in enumerate(BASIC) if i != ESCAPE}
_TO_EXTENSION = {ch: code for code, ch in EXTENSION.items()}

assert len(BASIC) == 128


class Gsm7Error(ValueError):
    """Text that the default alphabet cannot carry."""


def encodable(text: str) -> bool:
    return all(ch in _TO_BASIC or ch in _TO_EXTENSION for ch in text)


def char_septets(ch: str) -> int:
    """Septets one character takes: 1 in the basic table, 2 through the escape; Gsm7Error otherwise."""
    if ch in _TO_BASIC:
        return 1
    if ch in _TO_EXTENSION:
        return 2
    raise Gsm7Error(f"{ch!r} is not in the GSM 7-bit default alphabet")


def to_septets(text: str) -> list[int]:
    out: list[int] = []
    for ch in text:
        if ch in _TO_BASIC:
            out.append(_TO_BASIC[ch])
        elif ch in _TO_EXTENSION:
            out += [ESCAPE, _TO_EXTENSION[ch]]
        else:
            raise Gsm7Error(f"{ch!r} is not in the GSM 7-bit default alphabet")
    return out


def from_septets(septets: Sequence[int]) -> str:
    """Septets to text. An escape before an unknown code shows the basic character (23.038: the
    receiving entity shall display the character of the main table), a trailing escape a space."""
    out: list[str] = []
    escaped = False
    for s in septets:
        s &= 0x7F
        if escaped:
            out.append(EXTENSION.get(s, BASIC[s] if s != ESCAPE else " "))
            escaped = False
        elif s == ESCAPE:
            escaped = True
        else:
            out.append(BASIC[s])
    if escaped:
        out.append(" ")
    return "".join(out)


def pack(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Septets packed into octets, least significant bit first (23.038 6.1.2.1.1), after
    ``fill_bits`` zero bits (the padding that puts text after a user data header on a septet boundary)."""
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for s in septets:
        acc |= (s & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """``count`` septets from ``data`` after ``fill_bits``; a short ``data`` gives what it holds."""
    out: list[int] = []
    bit = fill_bits
    total = len(data) * 8
    while len(out) < count and bit + 7 <= total:
        byte, offset = divmod(bit, 8)
        value = data[byte] >> offset
        if offset > 1:
            value |= data[byte + 1] << (8 - offset)
        out.append(value & 0x7F)
        bit += 7
    return out
