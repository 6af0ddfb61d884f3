"""Loopback stand-ins for WeCom, DingTalk and Feishu robots (pytest-httpserver) that check what the real
providers check: the key/token, the JSON shape, the signature and the keyword rule, and answer HTTP 200 with
an error code in the body as they do. A script of answers ("rate", "ok", …) lets a test make the provider
refuse the next messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

KEY, TOKEN, SECRET = "wecomKEY0123456789abcdef", "dingTOKEN0123456789abcdef", "SECabcdef0123456789"
FEISHU_HOOK = "feishuHOOK0123456789abcdef"


def _reply(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


@dataclass
class FakeRobot:
    """One provider's robot. ``received`` holds each accepted message body; ``refused`` each refused one."""

    kind: str
    secret: str = SECRET
    keyword: str = ""
    script: deque[str] = field(default_factory=deque)
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    def path(self) -> str:
        return {
            "wecom": "/cgi-bin/webhook/send",
            "dingtalk": "/robot/send",
            "feishu": f"/open-apis/bot/v2/hook/{FEISHU_HOOK}",
        }[self.kind]

    def url(self, server: HTTPServer, *, bad_key: bool = False) -> str:
        base = server.url_for(self.path())
        if self.kind == "wecom":
            return f"{base}?key={'WRONG' if bad_key else KEY}"
        if self.kind == "dingtalk":
            return f"{base}?access_token={'WRONG' if bad_key else TOKEN}"
        return base.replace(FEISHU_HOOK, "WRONGHOOK0123456789") if bad_key else base

    def install(self, server: HTTPServer) -> FakeRobot:
        server.expect_request(self.path(), method="POST").respond_with_handler(self.handle)
        if self.kind == "feishu":
            server.expect_request(
                "/open-apis/bot/v2/hook/WRONGHOOK0123456789", method="POST"
            ).respond_with_handler(
                lambda r: _reply(
                    {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
                )
            )
        return self

    def _refuse(self, code: int, msg: str) -> Response:
        self.refused.append((code, msg))
        return _reply(
            {"code": code, "msg": msg} if self.kind == "feishu" else {"errcode": code, "errmsg": msg}
        )

    def handle(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True))
        check = getattr(self, f"_check_{self.kind}")(request, body)
        if check is not None:
            return self._refuse(*check)
        if self.script:
            step = self.script.popleft()
            if step == "rate":
                return self._refuse(
                    *{
                        "wecom": (45009, "api freq out of limit"),
                        "dingtalk": (130101, "send too fast, exceed 20 times per minute"),
                        "feishu": (11232, "frequency limited"),
                    }[self.kind]
                )
            if step == "error":
                return self._refuse(50000, "system busy")
            if step == "http500":
                return Response("upstream error", status=502)
        self.received.append(body)
        return _reply(
            {"code": 0, "msg": "success"} if self.kind == "feishu" else {"errcode": 0, "errmsg": "ok"}
        )

    def _check_wecom(self, request: Request, body: dict[str, Any]) -> tuple[int, str] | None:
        if request.args.get("key") != KEY:
            return 93000, "invalid webhook url, hint: [key not found]"
        kind = body.get("msgtype")
        if kind == "text":
            text = body.get("text") or {}
            mentions = text.get("mentioned_mobile_list", [])
            if (
                not isinstance(text.get("content"), str)
                or len(text["content"].encode()) > 2048
                or not isinstance(mentions, list)
                or not all(isinstance(m, str) for m in mentions)
            ):
                return 40008, "invalid message type"
        elif kind == "markdown":
            content = (body.get("markdown") or {}).get("content")
            if not isinstance(content, str) or len(content.encode()) > 4096:
                return 40008, "invalid message type"
        else:
            return 40008, "invalid message type"
        return None

    def _check_dingtalk(self, request: Request, body: dict[str, Any]) -> tuple[int, str] | None:
        if request.args.get("access_token") != TOKEN:
            return 300001, "token is not exist"
        ts, sign = request.args.get("timestamp", ""), request.args.get("sign", "")
        expected = base64.b64encode(
            hmac.new(self.secret.encode(), f"{ts}\n{self.secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if (
            not ts.isdigit()
            or abs(int(ts) - time.time() * 1000) > 3600_000
            or not hmac.compare_digest(sign, expected)
        ):
            return 310000, "sign not match"
        kind = body.get("msgtype")
        if kind == "text":
            content = (body.get("text") or {}).get("content", "")
        elif kind == "markdown":
            md = body.get("markdown") or {}
            if not md.get("title"):
                return 300005, "markdown title is empty"
            content = md.get("text", "")
        else:
            return 300005, "msgtype not supported"
        at = body.get("at", {})
        if not isinstance(at.get("atMobiles", []), list):
            return 300005, "at.atMobiles must be a list"
        if self.keyword and self.keyword not in content:
            return 310000, "keywords not in content"
        return None

    def _check_feishu(self, request: Request, body: dict[str, Any]) -> tuple[int, str] | None:
        ts, sign = str(body.get("timestamp", "")), body.get("sign", "")
        expected = base64.b64encode(
            hmac.new(f"{ts}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
        ).decode()
        if not ts.isdigit() or abs(int(ts) - time.time()) > 3600 or sign != expected:
            return 19021, "sign match fail or timestamp is not within one hour from current time"
        if body.get("msg_type") != "text" or not isinstance((body.get("content") or {}).get("text"), str):
            return 9499, "Bad Request"
        if self.keyword and self.keyword not in body["content"]["text"]:
            return 19024, "Key Words Not Found"
        return None

    def texts(self) -> list[str]:
        """The visible text of each accepted message."""
        out = []
        for b in self.received:
            if self.kind == "feishu":
                out.append(b["content"]["text"])
            elif b.get("msgtype") == "text":
                out.append(b["text"]["content"])
            else:
                md = b["markdown"]
                out.append(md.get("content") or md.get("text"))
        return out

    def mentions(self) -> list[list[str]]:
        out = []
        for b in self.received:
            if self.kind == "wecom":
                out.append(b.get("text", {}).get("mentioned_mobile_list", []))
            elif self.kind == "dingtalk":
                out.append(b.get("at", {}).get("atMobiles", []))
            else:
                out.append([])
        return out
