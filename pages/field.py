"""义田与收获."""

from __future__ import annotations

import streamlit as st

from ui.guard import page_guard


def render() -> None:
    actor = page_guard('field_lead', 'admin')
    st.title("义田与收获")
    st.info("此页面正在建设中。")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
