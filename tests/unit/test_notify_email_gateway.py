"""Personal reminders by email (aiosmtpd on loopback: STARTTLS + login, and a plain relay) and by SMS through
a generic HTTP gateway (pytest-httpserver checking the signed JSON POST)."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from werkzeug import Request, Response

from core.models_audit import AuditEntry
from core.notify.channels import add_channel, send_test
from core.notify.outbox import deliver_due, enqueue
from core.notify.prefs import save_preference
from core.notify.providers import sign_webhook
from core.scope import SYSTEM
from tests.unit._notify_fakes import FakeRobot
from tests.unit._notify_world import BASE_URL, NOW, deliveries, make_world, post, secret_key  # noqa: F401


@pytest.fixture
def world(session: Session, secret_key):  # noqa: F811
    return make_world(session)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's hook
        self.messages.append(
            (
                envelope.mail_from,
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.content, policy=policy.default),
            )
        )
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
    return AuthResult(
        handled=False,
        success=isinstance(auth_data, LoginPassword)
        and (auth_data.login, auth_data.password) == (b"grid", b"s3cret-pass"),
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (the client trusts it through ?cafile=)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def smtp_tls(tls_files):
    cert, key = tls_files
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    sink, port = Sink(), _free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        authenticator=_auth,
        auth_required=True,
    )
    controller.start()
    yield sink, port, cert
    controller.stop()


def _mail_channel(session, port, cert, *, password="s3cret-pass", name="mail"):  # noqa: ANN001, ANN202
    ch = add_channel(
        session,
        SYSTEM,
        kind="email",
        name=name,
        secret=password,
        url=f"smtp+starttls://grid@127.0.0.1:{port}?from=noreply@grid.example.org&cafile={cert}",
    )
    session.commit()
    return ch


def test_a_reminder_reaches_a_workers_email_over_starttls_with_login(
    session, engine, world, smtp_tls, httpserver
):
    """Test that a worker with an email address gets the reminder there (plain text, with the link), over
    STARTTLS after a login, and is not also @-ed in the community group."""
    sink, port, cert = smtp_tls
    robot = FakeRobot("wecom").install(httpserver)
    add_channel(
        session,
        SYSTEM,
        kind="wecom",
        name="A group",
        url=robot.url(httpserver),
        owner_unit_id=world.org.comm_a.id,
    )
    _mail_channel(session, port, cert)
    a0 = world.workers["A00"]
    save_preference(
        session,
        world.viewer(session, a0),
        language="en",
        quiet_start="",
        quiet_end="",
        email="a0@example.org",
    )
    session.commit()
    post(session, a0, "r1")
    assert deliver_due(engine, now=NOW)["sent"] == 1
    ((sender, rcpts, msg),) = sink.messages
    assert (sender, rcpts, msg["Subject"]) == (
        "noreply@grid.example.org",
        ["a0@example.org"],
        "Training reminder r1",
    )
    assert f"{BASE_URL}/my_learning" in msg.get_content() and robot.received == []


def test_a_wrong_smtp_password_flags_the_mail_channel(session, engine, world, smtp_tls):
    """Test that a refused SMTP login is not retried and flags the channel; the test command reports it."""
    sink, port, cert = smtp_tls
    ch = _mail_channel(session, port, cert, password="wrong")
    outcome = send_test(session, SYSTEM, "mail", to="admin@example.org")
    session.commit()
    assert not outcome.ok and outcome.error_kind == "config" and "535" in outcome.error
    session.refresh(ch)
    assert ch.flagged and sink.messages == []
    audited = session.exec(select(AuditEntry).where(AuditEntry.action == "notify.channel.test")).one()
    assert json.loads(audited.detail or "") == {
        "ok": False,
        "error_kind": "config",
        "error": outcome.error[:200],
    }


def test_the_mail_test_message_goes_to_the_sender_address(session, engine, world, smtp_tls):
    """Test that `notify test` on an email channel sends one message to its own sender address."""
    sink, port, cert = smtp_tls
    _mail_channel(session, port, cert)
    outcome = send_test(session, SYSTEM, "mail", lang="zh")
    session.commit()
    assert outcome.ok
    ((_, rcpts, msg),) = sink.messages
    assert rcpts == ["noreply@grid.example.org"] and msg["Subject"] == "Gridwise 测试消息"
    assert [d.state for d in deliveries(session)] == ["sent"]
    audited = session.exec(select(AuditEntry).where(AuditEntry.action == "notify.channel.test")).one()
    assert json.loads(audited.detail or "") == {"ok": True}  # nothing empty recorded for a success


def test_an_sms_gateway_gets_a_signed_json_post_with_the_mobile(session, engine, world, httpserver):
    """Test that a worker's reminder goes to the SMS gateway as the template's JSON, signed with HMAC-SHA256
    over "timestamp.body", with the delivery's key for de-duplication; the group gets nothing."""
    got: list[dict] = []
    secret = "gateway-secret-123"

    def gateway(request: Request) -> Response:
        raw = request.get_data()
        ts = request.headers["X-Gridwise-Timestamp"]
        expected = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Gridwise-Signature", ""), expected):
            return Response(json.dumps({"code": 401, "msg": "bad signature"}), status=401)
        got.append({"body": json.loads(raw), "key": request.headers["X-Gridwise-Delivery"]})
        return Response(json.dumps({"code": 0, "msg": "queued"}), status=200, content_type="application/json")

    httpserver.expect_request("/sms", method="POST").respond_with_handler(gateway)
    robot = FakeRobot("wecom").install(httpserver)
    add_channel(
        session,
        SYSTEM,
        kind="wecom",
        name="A group",
        url=robot.url(httpserver),
        owner_unit_id=world.org.comm_a.id,
    )
    add_channel(
        session,
        SYSTEM,
        kind="webhook",
        name="sms",
        url=httpserver.url_for("/sms"),
        secret=secret,
        template='{"phone": "{mobile}", "content": "{text}", "sign": "网格通"}',
    )
    session.commit()
    post(session, world.workers["A00"], "r1")
    assert deliver_due(engine, now=NOW)["sent"] == 1
    ((call,),) = [got]
    assert call["body"]["phone"] == "13812345678" and call["body"]["sign"] == "网格通"
    assert "培训提醒 r1" in call["body"]["content"] and call["key"].endswith(f":u{world.workers['A00'].id}")
    assert robot.received == []


def test_a_gateway_answering_an_error_code_with_http_200_is_a_failure(session, engine, world):
    """Test that a gateway's {"code": 1} in a 200 answer is a failure that is retried."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/sms").respond_with_json({"code": 1, "msg": "balance exhausted"})
    server.start()
    try:
        add_channel(
            session,
            SYSTEM,
            kind="webhook",
            name="sms",
            url=server.url_for("/sms"),
            template='{"to": "{mobile}", "text": "{text}"}',
        )
        session.commit()
        post(session, world.workers["A00"], "r1")
        deliver_due(engine, now=NOW)
    finally:
        server.stop()
    (d,) = deliveries(session)
    assert (d.state, d.error_kind, d.last_error) == ("failed", "refused", "1 balance exhausted")


def test_sign_webhook_is_the_documented_hmac():
    """Test the webhook signature against a hand computation (the API's subscribers will verify it)."""
    body = b'{"a":1}'
    assert (
        sign_webhook("k", 1700000000, body)
        == "sha256=" + hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    )


def test_a_queued_json_body_goes_to_a_webhook_subscriber_signed_and_once(session, engine, world, httpserver):
    """Test that outbox.enqueue (the API's webhooks) posts the body as is, signed, once even if queued twice."""
    got: list[tuple[dict, str, str]] = []

    def subscriber(request: Request) -> Response:
        ts, raw = request.headers["X-Gridwise-Timestamp"], request.get_data()
        assert request.headers["X-Gridwise-Signature"] == sign_webhook("sub-secret", int(ts), raw)
        got.append((json.loads(raw), request.headers["X-Gridwise-Delivery"], ts))
        return Response("", status=204)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(subscriber)
    ch = add_channel(
        session,
        SYSTEM,
        kind="webhook",
        name="city platform",
        url=httpserver.url_for("/hook"),
        secret="sub-secret",
        template='{"event": "{title}"}',
    )
    session.commit()
    assert enqueue(
        session, channel_id=ch.id, key="decision:42", data={"task": "event:7", "worker": "DP0001"}, now=NOW
    )
    assert not enqueue(
        session, channel_id=ch.id, key="decision:42", data={"task": "event:7", "worker": "DP0001"}, now=NOW
    )
    session.commit()
    deliver_due(engine, now=NOW)
    deliver_due(engine, now=NOW)
    assert [(body, key) for body, key, _ in got] == [({"task": "event:7", "worker": "DP0001"}, "decision:42")]
