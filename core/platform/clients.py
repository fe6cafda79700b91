"""Who is asking: the client address behind the trusted proxies, and whether the request came
over https.

A reverse proxy (Caddy, docs/HTTPS.md) terminates TLS and passes the request on, adding
``X-Forwarded-For: <client>`` and ``X-Forwarded-Proto: https``. Those headers are only worth
anything when the proxy itself sent them: anyone can write them into a request. So they count
only when the peer that connected to us is one of the trusted proxies (``JIFEN_TRUSTED_PROXIES``,
default the same PC: ``127.0.0.1,::1``; empty: none), and the client is the right-most address
in ``X-Forwarded-For`` that is not a trusted proxy itself — a proxy appends what it saw, so the
entries to its left are the client's own claims.

The guessing limits of the login form and the resident's card page count per client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(setting: str | None) -> tuple[Network, ...]:
    """Addresses or networks from a comma-separated setting; unreadable entries are skipped."""
    out: list[Network] = []
    for part in (setting or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            continue
    return tuple(out)


def _address(text: str | None):
    try:
        return ipaddress.ip_address((text or "").strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(peer: str | None, trusted: Iterable[Network]) -> bool:
    addr = _address(peer)
    return addr is not None and any(addr in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Iterable[Network]) -> str:
    """The client's address: the peer, or — when the peer is a trusted proxy — the right-most
    address of ``X-Forwarded-For`` that is not a trusted proxy."""
    trusted = tuple(trusted)
    peer = (peer or "").strip()
    if not is_trusted(peer, trusted) or not isinstance(forwarded_for, str):
        return peer or "unknown"
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        addr = _address(hop)
        if addr is None:
            break  # garbage: do not walk further left into what the client wrote
        if not any(addr in net for net in trusted):
            return str(addr)
    return peer


def forwarded_https(peer: str | None, forwarded_proto: str | None, trusted: Iterable[Network]) -> bool:
    """Whether a trusted proxy says the browser used https."""
    if not is_trusted(peer, trusted) or not isinstance(forwarded_proto, str):
        return False
    return forwarded_proto.split(",")[0].strip().lower() == "https"
