"""Talking to the providers: one ``send(target, message)`` for every channel kind, no database.

A ``Target`` is where (kind, URL, secret, options); a ``Message`` is what (title, short text, link, the
person or mobiles it is for, or a ready JSON body for the API's signed webhooks). ``send`` returns an
``Outcome``: ok, or an error kind that decides what the outbox does next —

- ``network``   connection refused/reset, DNS, timeout, HTTP 5xx: retried with exponential backoff;
- ``rate_limited`` the provider's "too fast" code or HTTP 429: retried later, the robot paused, never dropped;
- ``config``    a refused key, signature, keyword rule or IP list (or HTTP 401/403/404): not retried, the
  channel is flagged for an administrator;
- ``refused``   any other error code in the body, or an SMTP 5xx: retried a few times, then given up;
- ``bad_address`` the mail server refused the recipient: not retried.

Providers answer HTTP 200 with an error code in the JSON body; ``errcode``/``code``/``StatusCode`` ≠ 0 is a
failure. Every network call has a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, urlsplit

from core.errors import GridwiseError
from core.i18n import t
from core.notify.models import ChannelKind
from core.settings import get_settings

TIMEOUT_S = 10.0
RETRYABLE = frozenset({"network", "rate_limited", "refused"})
# Error codes in the body that mean "too fast" or "this key/signature/keyword is refused".
RATE_CODES = {
    ChannelKind.WECOM: {45009},
    ChannelKind.DINGTALK: {130101, 410100},
    ChannelKind.FEISHU: {11232, 11233},
}
CONFIG_CODES = {
    ChannelKind.WECOM: {93000, 93004},
    ChannelKind.DINGTALK: {300001, 310000},
    ChannelKind.FEISHU: {19001, 19021, 19022, 19024},
}
# Messages a minute a robot accepts (WeCom and DingTalk: 20; DingTalk then blocks the robot for 10 minutes).
RATE_PER_MINUTE = {
    ChannelKind.WECOM: 20,
    ChannelKind.DINGTALK: 20,
    ChannelKind.FEISHU: 100,
    ChannelKind.EMAIL: 60,
    ChannelKind.WEBHOOK: 120,
}
PAUSE_AFTER_LIMIT_S = {ChannelKind.DINGTALK: 600}
GROUP_KINDS = frozenset({ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU})
DEFAULT_TEMPLATE = '{"to": "{mobile}", "text": "{text}"}'
PLACEHOLDERS = ("to", "mobile", "email", "title", "text", "link", "key")


@dataclass(frozen=True)
class Target:
    kind: str
    url: str  # decrypted: robot URLs carry their key
    secret: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    link: str = ""
    lang: str = "zh"
    to: str = ""  # an email address or a mobile number ("" for a group message)
    mentions: tuple[str, ...] = ()  # mobiles to @ in a group
    key: str = ""  # the delivery's key: sent as X-Gridwise-Delivery so a receiver can drop a repeat
    data: dict[str, Any] | None = None  # a ready JSON body (webhooks): sent as is, signed


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error_kind: str = ""
    error: str = ""

    @property
    def retry(self) -> bool:
        return not self.ok and self.error_kind in RETRYABLE


OK = Outcome(True)


def absolute_link(link: str) -> str:
    """A page path ("pages/checkin.py?session=3") as the address people open ("<base>/checkin?session=3");
    "" when GRIDWISE_BASE_URL is not set."""
    base = get_settings().base_url.rstrip("/")
    if not base:
        return ""
    path, _, query = (link or "").partition("?")
    stem = "" if not path or path == "app.py" else PurePosixPath(path).stem
    return f"{base}/{stem}" + (f"?{query}" if query else "")


def audience(kind: str, options: dict[str, Any]) -> str:
    """ "group" for robots (and a webhook without a personal placeholder), "person" for email and an SMS
    gateway whose template names ``{mobile}`` or ``{email}``; "subscriber" for an API client's webhook
    (options ``{"subscriber": "api:<name>"}``): it gets only what is queued for it, never inbox notices."""
    if options.get("subscriber"):
        return "subscriber"
    if kind in GROUP_KINDS:
        return "group"
    if kind == ChannelKind.EMAIL:
        return "person"
    template = options.get("template") or DEFAULT_TEMPLATE
    return "person" if ("{mobile}" in template or "{email}" in template) else "group"


def render_template(template: str, values: dict[str, str]) -> dict[str, Any]:
    """A JSON body from a template: each ``{name}`` is replaced by the JSON-escaped value."""
    body = template
    for name in PLACEHOLDERS:
        body = body.replace("{" + name + "}", json.dumps(values.get(name, ""), ensure_ascii=False)[1:-1])
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError as exc:
        raise GridwiseError("notify.err.template_json", msg=exc.msg, pos=exc.pos) from None
    if not isinstance(parsed, dict):
        raise GridwiseError("notify.err.template_object")
    return parsed


def sign_dingtalk(secret: str, timestamp_ms: int) -> str:
    """DingTalk: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, base64, URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def sign_feishu(secret: str, timestamp_s: int) -> str:
    """Feishu: HMAC-SHA256 with "timestamp\\nsecret" as the key over an empty message, base64."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_webhook(secret: str, timestamp_s: int, body: bytes) -> str:
    """Gridwise's own webhooks: ``sha256=`` + hex HMAC-SHA256 of "timestamp.body" keyed by the secret."""
    return (
        "sha256=" + hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()
    )


def _plain(m: Message, keyword: str = "") -> str:
    open_word = t("notify.msg.open", m.lang)
    lines = [m.title, m.text] if m.text else [m.title]
    if m.link:
        lines.append(f"{open_word}: {m.link}")
    text = "\n".join(lines)
    if keyword and keyword not in text:
        text = f"【{keyword}】{text}"
    return text


def _markdown(m: Message, keyword: str = "") -> str:
    head = f"【{keyword}】" if keyword and keyword not in m.title + m.text else ""
    out = f"**{head}{m.title}**"
    if m.text:
        out += f"\n\n{m.text}"
    if m.link:
        out += f"\n\n[{t('notify.msg.open', m.lang)}]({m.link})"
    return out


def _robot_body(kind: str, m: Message, options: dict[str, Any]) -> dict[str, Any]:
    keyword = str(options.get("keyword") or "")
    if kind == ChannelKind.WECOM:
        if m.mentions:
            return {
                "msgtype": "text",
                "text": {"content": _plain(m, keyword), "mentioned_mobile_list": list(m.mentions)},
            }
        return {"msgtype": "markdown", "markdown": {"content": _markdown(m, keyword)}}
    if kind == ChannelKind.DINGTALK:
        at = {"atMobiles": list(m.mentions), "isAtAll": False}
        if m.mentions:  # DingTalk shows the @ only when the text names the mobile too
            return {
                "msgtype": "text",
                "at": at,
                "text": {"content": _plain(m, keyword) + " " + " ".join(f"@{x}" for x in m.mentions)},
            }
        return {
            "msgtype": "markdown",
            "at": at,
            "markdown": {"title": m.title, "text": _markdown(m, keyword)},
        }
    return {"msg_type": "text", "content": {"text": _plain(m, keyword)}}  # Feishu


def _post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the administrator's URL
            return resp.status, resp.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(65536).decode("utf-8", "replace") if exc.fp else ""


def _judge(kind: str, status: int, text: str) -> Outcome:
    short = text.strip().replace("\n", " ")[:300]
    if status == 429:
        return Outcome(False, "rate_limited", f"HTTP 429 {short}")
    if status in (401, 403, 404):
        return Outcome(False, "config", f"HTTP {status} {short}")
    if status >= 500:
        return Outcome(False, "network", f"HTTP {status} {short}")
    if not 200 <= status < 300:
        return Outcome(False, "refused", f"HTTP {status} {short}")
    try:
        reply = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        reply = {}
    if not isinstance(reply, dict):
        return OK
    code = next((reply[k] for k in ("errcode", "code", "StatusCode") if k in reply), 0)
    try:
        code = int(code)
    except (TypeError, ValueError):
        return Outcome(False, "refused", short)
    if code == 0:
        return OK
    msg = reply.get("errmsg") or reply.get("msg") or reply.get("StatusMessage") or ""
    error = f"{code} {msg}".strip()
    if code in RATE_CODES.get(kind, set()):  # type: ignore[call-overload]
        return Outcome(False, "rate_limited", error)
    if code in CONFIG_CODES.get(kind, set()):  # type: ignore[call-overload]
        return Outcome(False, "config", error)
    return Outcome(False, "refused", error)


def _http(
    kind: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT_S,
) -> Outcome:
    raw = json.dumps(body, ensure_ascii=False).encode()
    return _send_raw(kind, url, raw, headers or {}, timeout)


def _send_raw(kind: str, url: str, raw: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    try:
        status, text = _post_json(url, raw, headers, timeout)
    except TimeoutError:
        return Outcome(False, "network", f"no answer within {timeout:g} s")
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(False, "network", f"{type(reason).__name__}: {reason}"[:300])
    return _judge(kind, status, text)


def send_robot(
    target: Target, m: Message, *, now_s: float | None = None, timeout: float = TIMEOUT_S
) -> Outcome:
    now_s = time.time() if now_s is None else now_s
    body = _robot_body(target.kind, m, target.options)
    url = target.url
    if target.secret and target.kind == ChannelKind.DINGTALK:
        ts = int(now_s * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={sign_dingtalk(target.secret, ts)}"
    elif target.secret and target.kind == ChannelKind.FEISHU:
        ts = int(now_s)
        body = {"timestamp": str(ts), "sign": sign_feishu(target.secret, ts), **body}
    return _http(target.kind, url, body, timeout=timeout)


def send_webhook(
    target: Target, m: Message, *, now_s: float | None = None, timeout: float = TIMEOUT_S
) -> Outcome:
    if m.data is not None:
        body = m.data
    else:
        body = render_template(
            str(target.options.get("template") or DEFAULT_TEMPLATE),
            {
                "to": m.to,
                "mobile": m.to if "@" not in m.to else "",
                "email": m.to if "@" in m.to else "",
                "title": m.title,
                "text": _plain(m),
                "link": m.link,
                "key": m.key,
            },
        )
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    ts = int(time.time() if now_s is None else now_s)
    headers = {"X-Gridwise-Delivery": m.key, "X-Gridwise-Timestamp": str(ts)}
    if target.secret:
        headers["X-Gridwise-Signature"] = sign_webhook(target.secret, ts, raw)
    return _send_raw(ChannelKind.WEBHOOK, target.url, raw, headers, timeout)


def smtp_settings(url: str) -> dict[str, Any]:
    """``smtp://host:25`` (plain, loopback relays), ``smtp+starttls://user@host:587`` or
    ``smtps://user@host:465``; query ``from=`` (sender), ``test_to=`` (where a test goes)."""
    parts = urlsplit(url)
    modes = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}
    if parts.scheme not in modes or not parts.hostname:
        raise GridwiseError("notify.err.email_url")
    query = dict(parse_qsl(parts.query))
    mode = modes[parts.scheme]
    user = unquote(parts.username or "")
    return {
        "mode": mode,
        "host": parts.hostname,
        "port": parts.port or {"plain": 25, "starttls": 587, "ssl": 465}[mode],
        "user": user,
        "sender": query.get("from") or (user if "@" in user else f"gridwise@{parts.hostname}"),
        "test_to": query.get("test_to", ""),
        "cafile": query.get("cafile", ""),
    }


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN when offered (one exchange: a refused password is answered at once), else smtplib's choice."""
    client.ehlo_or_helo_if_needed()
    if "plain" in client.esmtp_features.get("auth", "").lower().split():
        client.user, client.password = user, password
        client.auth("PLAIN", client.auth_plain)
    else:
        client.login(user, password)


def send_email(target: Target, m: Message, *, timeout: float = TIMEOUT_S) -> Outcome:
    cfg = smtp_settings(target.url)
    if not m.to:
        return Outcome(False, "bad_address", "no address to send to")
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = m.title, cfg["sender"], m.to
    mail.set_content(_plain(m) + "\n")
    context = ssl.create_default_context(cafile=cfg["cafile"] or None)
    try:
        if cfg["mode"] == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg["host"], cfg["port"], timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(cfg["host"], cfg["port"], timeout=timeout)
        with client:
            if cfg["mode"] == "starttls":
                client.starttls(context=context)
            if cfg["user"] and target.secret:
                _login(client, cfg["user"], target.secret)
            client.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        return Outcome(False, "config", f"{exc.smtp_code} {_text(exc.smtp_error)}"[:300])
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, "bad_address", str(exc.recipients)[:300])
    except smtplib.SMTPResponseException as exc:
        kind = "network" if 400 <= exc.smtp_code < 500 else "refused"
        return Outcome(False, kind, f"{exc.smtp_code} {_text(exc.smtp_error)}"[:300])
    except ssl.SSLError as exc:
        return Outcome(False, "config", f"TLS: {exc}"[:300])
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, "network", f"{type(exc).__name__}: {exc}"[:300])
    return OK


def send(target: Target, m: Message, *, now_s: float | None = None, timeout: float = TIMEOUT_S) -> Outcome:
    """Send one message now; never raises for a provider's or the network's failure."""
    if target.kind == ChannelKind.EMAIL:
        return send_email(target, m, timeout=timeout)
    if target.kind == ChannelKind.WEBHOOK:
        return send_webhook(target, m, now_s=now_s, timeout=timeout)
    return send_robot(target, m, now_s=now_s, timeout=timeout)
