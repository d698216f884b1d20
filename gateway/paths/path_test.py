"""The periodic path test: evidence that both alarm paths reach the platform and come back.

Every ``second_path.test_interval_days`` (and once on a hub that has never been tested)
the hub sends a test alarm over MQTT (the real alert path, ``test: true``) and an SMS
with a test code to every ``platform_gateway`` recipient. The MQTT half passes when the
platform acknowledges the test alarm, the SMS half when the gateway number replies
``OK <code>``; whatever has not come back within ``test_ack_timeout_s`` has failed. The
last result is kept in the store (``kv`` key ``second_path.test``), shown on the page
and in ``health``, and so survives restarts; a failed test raises nothing by itself
(``second_path_unavailable`` covers a modem that cannot send) but stays visible until
the next test passes.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from typing import Any

import structlog

from gateway.config.second_path import SecondPathConfig, SmsRecipient
from gateway.paths.context import PathContext
from gateway.paths.decisions import path_test_due
from gateway.paths.sender import AlertSender, Extra
from gateway.paths.sms_text import same_number, test_text

log = structlog.get_logger("carehub.second_path")

KV_KEY = "second_path.test"


class PathTest:
    def __init__(self, cfg: SecondPathConfig, ctx: PathContext, sender: AlertSender) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.sender = sender
        self.last: dict[str, Any] | None = self._load()

    def _load(self) -> dict[str, Any] | None:
        try:
            raw = self.ctx.store.kv_get(KV_KEY)
            value = json.loads(raw) if raw else None
        except (sqlite3.Error, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def _save(self) -> None:
        try:
            self.ctx.store.kv_set(KV_KEY, json.dumps(self.last))
        except sqlite3.Error as exc:
            log.error("second_path.test_not_saved", error=str(exc))

    @property
    def gateways(self) -> list[SmsRecipient]:
        return [r for r in self.cfg.recipients if r.role == "platform_gateway"]

    def tick(self, usable: bool) -> None:
        now = time.time()
        if self.last is not None and self.last.get("result") == "pending":
            self._judge(now)
            return
        started = self.last.get("started_wall") if self.last else None
        # Only a path that can work is tested: a modem that cannot send has its own alert.
        if usable and self.ctx.uplink_connected() and path_test_due(started, self.cfg.test_interval_days, now):
            self._start(now)

    def _start(self, now: float) -> None:
        code = "T" + secrets.token_hex(2).upper()
        alert_id = self.ctx.policy.raise_test("second_path test")
        self.last = {"started_wall": now, "code": code, "result": "pending",
                     "mqtt": {"alert_id": alert_id, "ok": None, "acked_wall": None},
                     "sms": {"numbers": [r.number for r in self.gateways], "ok": None if self.gateways else True,
                             "reply_wall": None, "from": None}}
        for r in self.gateways:
            self.sender.extras.append(Extra(r.number, test_text(code, self.ctx.site_name(), r.language), "path_test"))
        self.sender.wake.set()
        self._save()
        log.info("second_path.test_started", code=code, alert_id=alert_id, gateways=len(self.gateways))

    def reply(self, token: str, rcpt: SmsRecipient) -> bool:
        """A reply that names the running test's code, from a gateway number: the SMS half passed."""
        last = self.last
        if last is None or token != last.get("code"):
            return False
        if rcpt.role != "platform_gateway" or not any(same_number(n, rcpt.number) for n in last["sms"]["numbers"]):
            return False
        if last.get("result") != "pending":
            log.info("second_path.test_reply_late", code=token, result=last.get("result"))
            return True  # the test is judged: a late answer does not turn a failure into a pass
        if last["sms"]["ok"] is not True:
            last["sms"].update(ok=True, reply_wall=time.time(), **{"from": rcpt.number})
            log.info("second_path.test_sms_acknowledged", code=token, by=rcpt.number)
            self._judge(time.time())
            self._save()
        return True

    def _judge(self, now: float) -> None:
        last = self.last
        assert last is not None
        mqtt = last["mqtt"]
        if mqtt["ok"] is None:
            row = self.ctx.store.get_alert(mqtt["alert_id"])
            if row is not None and row.acked_wall is not None:
                mqtt.update(ok=True, acked_wall=row.acked_wall)
        sms = last["sms"]
        if mqtt["ok"] and sms["ok"]:
            self._finish(now, "passed")
        elif now - last["started_wall"] >= self.cfg.test_ack_timeout_s or now < last["started_wall"]:
            mqtt["ok"] = bool(mqtt["ok"])
            sms["ok"] = bool(sms["ok"])
            self._finish(now, "failed")

    def _finish(self, now: float, result: str) -> None:
        assert self.last is not None
        self.last.update(result=result, finished_wall=now)
        self._save()
        (log.info if result == "passed" else log.error)(
            "second_path.test_" + result, code=self.last["code"], mqtt=self.last["mqtt"]["ok"],
            sms=self.last["sms"]["ok"])
