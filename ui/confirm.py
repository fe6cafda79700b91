"""The one way pages ask before an irreversible action: a first button that opens the question,
a warning that says what will happen, and 确认 / 返回 side by side.

Which question is open is kept in one session key for every page, as ``(key, token)``: the token
names the object asked about (an activity id, a round id, a file's hash and date), so the question
closes by itself when the page moves on to another object and two questions are never open at once.
The question stays open until the page closes it after the action succeeded: a refusal (a reason not
given, a changed file) is shown under the question, which the user answers again once it is put right.
Every action behind a question is safe to run twice (the core refuses or finds it done), so a double
click on 确认 changes nothing twice. An action the core cannot recognise as done (a manual adjustment, a
split) asks with ``once=True``: the question closes as 确认 is clicked, so a second click finds nothing
to confirm; a refusal is then shown under the page and the user asks again.

A question may be opened by a form (``open_question``) instead of the first button, carrying what the
form held as its token; the page reads it back with :func:`token`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from ui import state
from ui.widgets import say


def is_open(key: str, token: Any) -> bool:
    """Whether the question ``key`` is open for ``token``."""
    return st.session_state.get(state.CONFIRM_OPEN) == (key, token)


def close() -> None:
    st.session_state.pop(state.CONFIRM_OPEN, None)


def token(key: str) -> Any:
    """The token the question ``key`` is open for, or None while it is closed (a form that opened it
    stored what it held there)."""
    item = st.session_state.get(state.CONFIRM_OPEN)
    return item[1] if item and item[0] == key else None


def open_question(key: str, token: Any) -> None:
    """Open the question ``key`` for ``token`` from a form's submit button (which cannot be the
    first button of :func:`ask`) and rerun, so the page draws it."""
    st.session_state[state.CONFIRM_OPEN] = (key, token)
    st.rerun()


def ask(key: str, token: Any, label: str, *, kind: str = "primary", icon: str | None = None,
        where: Any = None) -> None:
    """The first button (widget key ``{key}_start``): a click opens the question for ``token``."""
    if (where or st).button(label, key=f"{key}_start", type=kind, icon=icon):
        st.session_state[state.CONFIRM_OPEN] = (key, token)
        st.rerun()


def question(warning: str, details: Sequence[str] = ()) -> None:
    """The text of an open question: ``details`` (plain lines naming what is asked about), then the
    warning. For a question that takes input before its buttons (a reason, the votes, quantities),
    the page draws it between :func:`question` and :func:`answer`."""
    for line in details:
        st.text(line)
    say("warning", warning, icon=":material/warning:")


def answer(key: str, *, confirm: str, back: str = "返回", once: bool = False, disabled: bool = False) -> bool:
    """确认 (``{key}_do``) and 返回 (``{key}_back``) of the open question ``key``: True on the run whose
    确认 was clicked. ``disabled`` keeps 确认 greyed while the input above it is not complete."""
    c1, c2 = st.columns(2)
    if c2.button(back, key=f"{key}_back"):
        close()
        st.rerun()
    if c1.button(confirm, key=f"{key}_do", type="primary", disabled=disabled):
        if once:
            close()  # before the action: a second click, or a rerun of this one, finds no question open
        return True
    return False


def confirmed(key: str, token: Any, *, warning: str, confirm: str, back: str = "返回",
              details: Sequence[str] = (), once: bool = False) -> bool:
    """While the question is open: :func:`question`, then :func:`answer`. True on the run whose 确认
    was clicked; the page calls :func:`close` once the action succeeded — or, with ``once``, the
    question is closed already (for actions the core would do twice)."""
    if not is_open(key, token):
        return False
    question(warning, details)
    return answer(key, confirm=confirm, back=back, once=once)


def confirm_step(key: str, token: Any, *, ask_label: str, warning: str, confirm: str, back: str = "返回",
                 kind: str = "primary", icon: str | None = None, details: Sequence[str] = (),
                 once: bool = False) -> bool:
    """:func:`ask` while the question is closed, :func:`confirmed` while it is open."""
    if not is_open(key, token):
        ask(key, token, ask_label, kind=kind, icon=icon)
        return False
    return confirmed(key, token, warning=warning, confirm=confirm, back=back, details=details, once=once)
