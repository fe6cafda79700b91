"""Who is asking, from Streamlit's view of the request (core.platform.clients decides what counts)."""

from __future__ import annotations

import streamlit as st

from core.platform.clients import client_address
from ui import runtime


def client() -> str:
    """The client's address: the peer, or a trusted proxy's X-Forwarded-For (JIFEN_TRUSTED_PROXIES)."""
    peer = st.context.ip_address
    forwarded = st.context.headers.get("X-Forwarded-For")
    return client_address(peer if isinstance(peer, str) else None, forwarded if isinstance(forwarded, str) else None,
                          runtime.config().proxies)


def cookie(name: str) -> str | None:
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) else None
