"""Who is asking: the client's network address, believed from a header only when a trusted proxy sent it.

A browser connects to HAProxy or nginx, which connects to Streamlit or the API from a loopback address and
names the browser in ``X-Forwarded-For``. Anyone can write that header, so it counts only when the peer is
one of ``GRIDWISE_TRUSTED_PROXIES``; then the right-most entry that is not itself a trusted proxy is the
client (entries further left were written by the client and prove nothing)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

from core.settings import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip())


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else ""
    return ""


def client_address(peer: str | None, headers: Mapping[str, str]) -> str:
    """The client's address for throttling and the audit trail (at most 64 characters)."""
    settings = get_settings()
    networks = _networks(settings.trusted_proxies)
    address = (peer or "").strip()
    if address and _trusted(address, networks):
        forwarded = [
            a.strip() for a in _header(headers, settings.client_address_header).split(",") if a.strip()
        ]
        for hop in reversed(forwarded):
            address = hop
            if not _trusted(hop, networks):
                break
    return address[:64]
