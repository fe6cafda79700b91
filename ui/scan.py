"""The scan box: where a USB scanner types a card code (or a product barcode) and presses Enter.

A form with clear_on_submit keeps fast successive scans separate. After every run the
cursor is put back into the box: otherwise the scanner's Enter would press whatever
button was clicked last (seen on Streamlit 1.67).
"""

from __future__ import annotations

import time

import streamlit as st


def scan_box(key: str, label: str = "扫描积分卡或输入卡号", placeholder: str = "把光标放在这里，用扫码枪扫卡") -> str | None:
    """Render the box; return the scanned text once, on the run its Enter submitted
    ("" for an Enter on the empty box, None on every other run)."""
    with st.form(key, clear_on_submit=True, border=False):
        cols = st.columns([5, 1], vertical_alignment="bottom")
        value = cols[0].text_input(label, key=f"{key}_input", placeholder=placeholder, autocomplete="off")
        submitted = cols[1].form_submit_button("确定", width="stretch")
    # The box is a form so the scanner's Enter submits it; Streamlit then shows an English
    # "Press Enter to submit form" hint inside it. The placeholder already says what to do.
    st.html(f"<style>.st-key-{key}_input [data-testid='InputInstructions'] {{ display: none; }}</style>")
    refocus(f"{key}_input")
    if submitted:
        return (value or "").strip()
    return None


# Installed once per browser tab (the document outlives reruns and page switches). A USB scanner
# is a keyboard: it types into whatever has focus. After a click, focus sits on a button, a
# checkbox or the page body, where the keystrokes would vanish and the final Enter would press
# the button clicked last. So a printable key typed outside any text field is moved into the
# page's scan box, with the focus: the rest of the scan and its Enter follow it there.
# Text fields people type in (search boxes, open drop-downs, number boxes) keep their keys.
_HOOK = """
(() => {
  const w = window.parent || window, d = w.document;
  const SEL = '[class*="_scan_input"] input';
  const NOT_TEXT = ['button', 'checkbox', 'radio', 'submit', 'reset', 'file', 'range', 'color', 'image'];
  const typing = (el) => {
    if (!el || el === d.body) return false;
    if (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
    if (el.tagName !== 'INPUT' || NOT_TEXT.includes(el.type)) return false;
    // a drop-down's search box counts only while it is open (after a pick it stays focused)
    return el.getAttribute('role') !== 'combobox' || el.getAttribute('aria-expanded') === 'true';
  };
  w.__jifenScanTyping = typing;
  if (w.__jifenScanHook) return;
  w.__jifenScanHook = true;
  d.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (e.key.length !== 1 || e.key === ' ') return;
    const box = d.querySelector(SEL);
    if (!box || e.target === box || typing(e.target)) return;
    e.preventDefault();
    e.stopPropagation();
    box.focus();
    const set = Object.getOwnPropertyDescriptor(w.HTMLInputElement.prototype, 'value').set;
    set.call(box, box.value + e.key);
    box.dispatchEvent(new w.Event('input', { bubbles: true }));
  }, true);
})();
"""


def refocus(input_key: str) -> None:
    """Put the cursor back into the text input with this widget key after this run, unless
    someone is typing in another text field; and send stray scanner keystrokes there."""
    # A changing comment makes the element new on every run, so the script runs each time.
    st.html(
        f"""<!-- {time.time_ns()} --><script>{_HOOK}
        setTimeout(() => {{
          const w = window.parent || window, d = w.document;
          const el = d.querySelector('.st-key-{input_key} input');
          const at = d.activeElement;
          if (el && at !== el && !(w.__jifenScanTyping && w.__jifenScanTyping(at) && at.type !== 'number')) {{
            el.focus();
          }}
        }}, 50);
        </script>""",
        unsafe_allow_javascript=True,
        width="content",
    )
