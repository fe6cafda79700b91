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
#
# Keys typed while there is no scan box yet (the till page is still being drawn after a click
# in the sidebar, or after the address was opened: then EARLY_KEYS, served in the page itself,
# has kept them since its first bytes) are held and typed into the box when it appears; a held
# Enter submits it. Held keys the box never came for are dropped after HOLD_MS.
HOLD_MS = 10_000
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
  const held = w.__jifenKeys || [];  // {k: key, t: when}, kept by EARLY_KEYS before this ran
  w.__jifenKeys = held;
  const type = (box, text) => {
    const set = Object.getOwnPropertyDescriptor(w.HTMLInputElement.prototype, 'value').set;
    set.call(box, box.value + text);
    box.dispatchEvent(new w.Event('input', { bubbles: true }));
  };
  const flush = () => {
    while (held.length && Date.now() - held[0].t > HOLD_MS) held.shift();
    if (!held.length) return;  // the usual case: nothing to look for
    const box = d.querySelector(SEL);
    if (!box || (typing(d.activeElement) && d.activeElement !== box)) return;
    const upto = held.findIndex((x) => x.k === 'Enter');
    const keys = held.splice(0, upto < 0 ? held.length : upto + 1);
    box.focus();
    type(box, keys.filter((x) => x.k !== 'Enter').map((x) => x.k).join(''));
    if (upto >= 0) {
      box.dispatchEvent(new w.KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', keyCode: 13, which: 13, bubbles: true }));
    }
  };
  w.setInterval(flush, 50);
  d.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const box = d.querySelector(SEL);
    if (!box && e.key === 'Enter' && held.length && !typing(e.target)) {
      held.push({ k: 'Enter', t: Date.now() });
      e.preventDefault();
      return;
    }
    if (e.key.length !== 1 || e.key === ' ') return;
    if (e.target === box || typing(e.target)) return;
    e.preventDefault();
    e.stopPropagation();
    if (!box || held.length) {  // no box yet, or keys still waiting for it: keep the order
      held.push({ k: e.key, t: Date.now() });
      return;
    }
    box.focus();
    type(box, e.key);
  }, true);
  flush();
})();
""".replace("HOLD_MS", str(HOLD_MS))

# Served at the top of every staff page (see EarlyKeys): keeps the keys a scanner types before
# the app has drawn anything, for the hook above. It stands down once the hook is installed.
EARLY_KEYS = ("<script>(function(){var w=window,q=w.__jifenKeys=[];document.addEventListener('keydown',"
              "function(e){if(w.__jifenScanHook||e.ctrlKey||e.metaKey||e.altKey||e.isComposing)return;"
              "var t=e.target,n=t&&t.tagName;if(n==='INPUT'||n==='TEXTAREA'||n==='SELECT'||(t&&t.isContentEditable))"
              "return;if((e.key.length===1&&e.key!==' ')||(e.key==='Enter'&&q.length)){q.push({k:e.key,t:Date.now()});"
              "e.preventDefault();}},true);})();</script>")


class EarlyKeys:
    """ASGI middleware: puts :data:`EARLY_KEYS` at the top of the page Streamlit serves for the
    app's own addresses (``/`` and each page's), so a scan typed while the page loads is kept.

    Those requests are served uncompressed (the page is 8 KB); everything else passes untouched."""

    def __init__(self, app, paths: set[str]):
        self.app = app
        self.paths = {"/"} | {"/" + p for p in paths}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        start: dict | None = None
        parts: list[bytes] = []

        async def send_(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                return await send(message)
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body, headers = b"".join(parts), list(start["headers"])
            kind = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
            if kind.startswith(b"text/html") and b"<head>" in body:
                body = body.replace(b"<head>", b"<head>" + EARLY_KEYS.encode(), 1)
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return await self.app(scope, receive, send_)


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
