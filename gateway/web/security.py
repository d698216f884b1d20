"""Who may use the technician's page: the setup code, the password, sessions, login limits.

There is no default password. While no technician password is set, the hub
keeps a one-time setup code in its state directory (readable by root and the
service user, shown by ``carehub setup-code`` and in the log); whoever proves
they can read it sets the password. The password is kept only as an argon2id
hash. State lives in files, not memory, so ``carehub setup-code --reset`` works
on a running hub, and a reset ends every session at once.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.config import write_atomic

SETUP_CODE_FILE = "web-setup-code"
PASSWORD_FILE = "web-password"
# No 0/O or 1/I/L: the code is read off a console and typed on a phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MIN_PASSWORD = 10
# A login ends after this long however busy it is: a phone left logged in on a shared network, or a
# stolen cookie, does not keep the hub open for good. Longer than any installation visit.
MAX_SESSION_S = 12 * 3600
MAX_PASSWORD = 256

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) rather than the library's
# 64 MiB default: a Pi-class hub keeps its memory for monitoring, and the login limiter already
# slows guessing. Hashes record their parameters, so they can be raised later without a reset.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


def _write_private(path: Path, text: str) -> None:
    write_atomic(path, text.encode(), mode=0o600)
    if os.geteuid() == 0:
        # `sudo carehub setup-code` writes into the service's state directory: the file must
        # belong to the service user, or the hub could not read the code root just printed.
        owner = path.parent.stat()
        if owner.st_uid != 0:
            os.chown(path, owner.st_uid, owner.st_gid)


def normalise_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


class Credentials:
    """The technician's password and, until it is set, the one-time setup code."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.code_path = state_dir / SETUP_CODE_FILE
        self.password_path = state_dir / PASSWORD_FILE
        self._cached: tuple[tuple[int, int, int] | None, str | None] = (None, None)

    def password_set(self) -> bool:
        return self.password_path.exists()

    def password_hash(self) -> str | None:
        # Asked on every request: read the file again only when it changed (a reset at the hub).
        try:
            st = self.password_path.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._cached[0]:
            try:
                value: str | None = str(json.loads(self.password_path.read_text())["hash"])
            except (OSError, ValueError, KeyError, TypeError):
                value = None
            self._cached = (stamp, value)
        return self._cached[1]

    def ensure_setup_code(self) -> str | None:
        """The current setup code, making one if no password is set yet; None once set up."""
        if self.password_set():
            return None
        try:
            code = self.code_path.read_text().strip()
            if len(normalise_code(code)) == 8:
                return code
        except OSError:
            pass
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        _write_private(self.code_path, code + "\n")
        return code

    def check_setup_code(self, attempt: str) -> bool:
        code = self.ensure_setup_code()
        if code is None:
            return False
        return hmac.compare_digest(normalise_code(code).encode(), normalise_code(attempt).encode())

    def set_password(self, password: str) -> None:
        _write_private(self.password_path, json.dumps({"hash": _hasher.hash(password), "set_wall": time.time()}))
        self.code_path.unlink(missing_ok=True)

    def verify(self, password: str) -> bool:
        stored = self.password_hash()
        if stored is None:
            return False
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def reset(self) -> str:
        """Forget the password (the technician lost it): a new setup code, every session ended."""
        self.password_path.unlink(missing_ok=True)
        self.code_path.unlink(missing_ok=True)
        code = self.ensure_setup_code()
        assert code is not None
        return code


def password_problem(password: str, repeat: str) -> str | None:
    """A message key when the new password is not acceptable."""
    if password != repeat:
        return "setup.error.mismatch"
    if len(password) < MIN_PASSWORD:
        return "setup.error.short"
    if len(password) > MAX_PASSWORD:
        return "setup.error.long"
    return None


@dataclass
class Session:
    token: str
    csrf: str
    peer: str
    password_hash: str
    created: float
    last_used: float
    flash: list[str] = field(default_factory=list)  # one-shot messages for the next page


class Sessions:
    """Logged-in browsers. Kept in memory: a restarted hub asks for the password again."""

    def __init__(self, idle_s: float, max_sessions: int = 20, max_age_s: float = MAX_SESSION_S) -> None:
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.max_sessions = max_sessions
        self._by_token: dict[str, Session] = {}

    def create(self, peer: str, password_hash: str) -> Session:
        now = time.monotonic()
        self._expire(now)
        while len(self._by_token) >= self.max_sessions:  # the oldest goes first
            oldest = min(self._by_token.values(), key=lambda s: s.last_used)
            del self._by_token[oldest.token]
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), peer, password_hash, now, now)
        self._by_token[s.token] = s
        return s

    def get(self, token: str | None, current_hash: str | None) -> Session | None:
        if not token:
            return None
        now = time.monotonic()
        self._expire(now)
        s = self._by_token.get(token)
        if s is None:
            return None
        if current_hash is None or not hmac.compare_digest(s.password_hash, current_hash):
            # The password was changed or reset since this login.
            del self._by_token[token]
            return None
        s.last_used = now
        return s

    def end(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._by_token.items()
                      if now - s.last_used > self.idle_s or now - s.created > self.max_age_s]:
            del self._by_token[token]


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    lockouts: int = 0


class LoginLimiter:
    """Slows password and setup-code guessing: per address, and for everyone at once.

    Five failures from an address within 15 minutes lock that address out for
    a minute, doubling with every further lockout up to 15 minutes. Because a
    LAN attacker can change address, 30 failures from LAN addresses lock every
    LAN login for 5 minutes. Loopback (a browser or tunnel on the hub itself,
    ``ssh -L 8080:localhost:8080 hub``) is outside that shared lock, and its own
    failures do not count towards it: whoever can reach the hub's console can
    always get in with the right password or code, however the LAN behaves.
    """

    WINDOW_S = 15 * 60
    PER_PEER = 5
    GLOBAL = 30
    GLOBAL_LOCK_S = 5 * 60

    def __init__(self) -> None:
        self._peers: dict[str, _Failures] = {}
        self._all = _Failures()
        self.refused = 0
        self.failures = 0

    def retry_after(self, peer: str, now: float | None = None) -> float:
        """Seconds until ``peer`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        f = self._peers.get(peer)
        shared = 0.0 if _is_loopback(peer) else self._all.locked_until - now
        wait = max(shared, (f.locked_until - now) if f else 0.0, 0.0)
        if wait > 0:
            self.refused += 1
        return wait

    def failed(self, peer: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.failures += 1
        if len(self._peers) > 1000:  # a flood of addresses must not grow memory without bound
            self._peers.clear()
        f = self._peers.setdefault(peer, _Failures())
        records: list[tuple[_Failures, int, float | None]] = [(f, self.PER_PEER, None)]
        if not _is_loopback(peer):
            records.append((self._all, self.GLOBAL, self.GLOBAL_LOCK_S))
        for rec, limit, lock in records:
            rec.times.append(now)
            while rec.times and now - rec.times[0] > self.WINDOW_S:
                rec.times.popleft()
            if len(rec.times) >= limit:
                rec.lockouts += 1
                rec.locked_until = now + (lock or min(60.0 * 2 ** (rec.lockouts - 1), 15 * 60.0))
                rec.times.clear()

    def succeeded(self, peer: str) -> None:
        self._peers.pop(peer, None)


def _is_loopback(peer: str) -> bool:
    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback
