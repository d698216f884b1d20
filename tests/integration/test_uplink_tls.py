"""The uplink over TLS with a CA file, a client certificate and a password, on MQTT 3.1.1 and 5."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from simulators.broker import Mosquitto, free_port
from simulators.platform import PlatformEmulator
from tests.conftest import CODES, hub_config

pytestmark = pytest.mark.integration


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("openssl") or not shutil.which("mosquitto_passwd"):
        pytest.skip("openssl and mosquitto_passwd are needed to make a test PKI")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=carehub-test-ca", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext", cwd=d)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(d / "passwd"), "hub", "s3cret"], check=True)
    for f in d.iterdir():
        f.chmod(0o644)  # mosquitto may drop privileges when run as root
    return d


@pytest.fixture
def tls_broker(pki: Path):
    plain = free_port()
    conf = (
        "per_listener_settings true\n"
        "listener {port} 127.0.0.1\n"
        f"cafile {pki / 'ca.pem'}\ncertfile {pki / 'server.pem'}\nkeyfile {pki / 'server.key'}\n"
        "require_certificate true\n"
        f"password_file {pki / 'passwd'}\nallow_anonymous false\n"
        f"listener {plain} 127.0.0.1\nallow_anonymous true\n"
    )
    with Mosquitto(conf=conf) as broker:
        yield broker, plain


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_tls_client_cert_and_password(protocol, tmp_path, pki, tls_broker, rflink, daemon_factory):
    broker, plain_port = tls_broker
    cfg = hub_config(tmp_path, broker.port, rflink.link, platform={
        "host": "127.0.0.1", "port": broker.port, "protocol": protocol, "tls": True,
        "ca_file": str(pki / "ca.pem"), "cert_file": str(pki / "client.pem"), "key_file": str(pki / "client.key"),
        "username": "hub", "password": "s3cret", "reconnect_min_s": 0.2, "reconnect_max_s": 1.0,
    })
    with PlatformEmulator("127.0.0.1", plain_port) as platform:
        hub = daemon_factory(cfg).start()
        hub.wait_event("uplink.connected", timeout=15)
        rflink.frame(CODES["sos-bed"], "ON")
        assert platform.wait_for(lambda p: len(p.alerts_of("help_call")) == 1, timeout=10), hub.tail()
        hub.wait_event("alert.acked")
        log = hub.log_path.read_text()
        assert "s3cret" not in log, "the password must never be logged"


def test_wrong_password_is_refused_and_logged(tmp_path, pki, tls_broker, rflink, daemon_factory):
    broker, _ = tls_broker
    cfg = hub_config(tmp_path, broker.port, rflink.link, platform={
        "host": "127.0.0.1", "port": broker.port, "tls": True, "ca_file": str(pki / "ca.pem"),
        "cert_file": str(pki / "client.pem"), "key_file": str(pki / "client.key"),
        "username": "hub", "password": "Wr0ng-Pa55",
    })
    hub = daemon_factory(cfg).start()
    ev = hub.wait_event("uplink.connect_refused", timeout=15)
    assert "Wr0ng-Pa55" not in hub.log_path.read_text()
    assert ev["broker"].startswith("mqtts://")
