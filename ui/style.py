"""The app's own CSS: readable contrast for everyone, and the large-text mode (大字模式).

Streamlit sizes its text in rem, so the large-text mode raises the root size: body text becomes
20 px and every heading, widget and table grows with it; the key figures (st.metric values:
balances, points, totals) are set to at least 40 px. Layouts were checked at 1366×768 and
390×844 (docs/ACCESSIBILITY.md has the screenshots).
"""

from __future__ import annotations

import streamlit as st

# Captions: Streamlit draws them at 60 % opacity (about 3.7:1 on white); older eyes and the
# WCAG AA threshold (4.5:1) need darker. #4d5360 on white is 7.6:1.
BASE_CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] [data-testid="stCaptionContainer"] { color: #4d5360; opacity: 1; }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible,
[role="tab"]:focus-visible, [role="checkbox"]:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid #1a5fb4 !important; outline-offset: 2px;
}
h2.jf-nav-section { font-size: 0.8rem; font-weight: 600; color: #4d5360; margin: 0.9rem 0 0 0; padding: 0; }
[data-testid="stSidebar"] [data-testid="stPageLink"] a { padding-top: 0.1rem; padding-bottom: 0.1rem; }
</style>
"""

LARGE_PX = 20
FIGURE_PX = 44
LARGE_CSS = f"""
<style>
html {{ font-size: {LARGE_PX}px; }}
.stApp {{ font-size: {LARGE_PX}px; }}
[data-testid="stMetricValue"], [data-testid="stMetricValue"] div {{ font-size: {FIGURE_PX}px !important; line-height: 1.2; }}
[data-testid="stSidebar"] [data-testid="stPageLink"] p {{ font-size: {LARGE_PX}px; }}
</style>
"""


def apply(large: bool) -> None:
    st.html(BASE_CSS + (LARGE_CSS if large else ""))
