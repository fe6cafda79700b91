"""The scan box: where a USB scanner types a card code (or a product barcode) and presses Enter.

A form with clear_on_submit keeps fast successive scans separate. After every run the
cursor is put back into the box: otherwise the scanner's Enter would press whatever
button was clicked last (seen on Streamlit 1.67).
"""

from __future__ import annotations

import time

import streamlit as st


def scan_box(key: str, label: str = "扫描积分卡或输入卡号", placeholder: str = "把光标放在这里，用扫码枪扫卡") -> str | None:
    """Render the box; return the scanned text once, on the run its Enter submitted."""
    with st.form(key, clear_on_submit=True, border=False):
        cols = st.columns([5, 1], vertical_alignment="bottom")
        value = cols[0].text_input(label, key=f"{key}_input", placeholder=placeholder, autocomplete="off")
        submitted = cols[1].form_submit_button("确定", width="stretch")
    # The box is a form so the scanner's Enter submits it; Streamlit then shows an English
    # "Press Enter to submit form" hint inside it. The placeholder already says what to do.
    st.html(f"<style>.st-key-{key}_input [data-testid='InputInstructions'] {{ display: none; }}</style>")
    refocus(f"{key}_input")
    if submitted and value and value.strip():
        return value.strip()
    return None


def refocus(input_key: str) -> None:
    """Put the cursor back into the text input with this widget key."""
    # A changing comment makes the element new on every run, so the script runs each time.
    st.html(
        f"""<!-- {time.time_ns()} --><script>
        setTimeout(() => {{
          const el = window.parent.document.querySelector('.st-key-{input_key} input');
          if (el) {{ el.focus(); }}
        }}, 150);
        </script>""",
        unsafe_allow_javascript=True,
        width="content",
    )
