"""The one household picker: a drop-down of the village's households labelled by door number and
head (户主), in the order people read door numbers, that the user filters by typing — the same on
every page that picks a household.

Where a page also finds households by what a drop-down cannot filter on — a scanned card number or
a member's name — it passes ``search``: a search box above the drop-down narrows it to what the
core finds (core.village.households.find_choices) and picks the first hit, so a scan lands on its
household at once. Both lists come from core reads; pages never open a session for them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import streamlit as st

from core.platform.errors import DomainError
from core.village import households
from ui import runtime
from ui.widgets import say

PLACEHOLDER = "输入门牌号或户主查找"


def _labels(choices: list[households.HouseholdChoice], notes: Mapping[int, str] | None) -> dict[int, str]:
    return {c.id: c.label + (f"　{notes[c.id]}" if notes and c.id in notes else "") for c in choices}


def household_labels(village_id: int, *, include_closed: bool = False, exclude: Collection[int] = (),
                     only: Collection[int] | None = None,
                     notes: Mapping[int, str] | None = None) -> dict[int, str]:
    """``id → label`` of the households a picker offers, in natural door-number order: all of the
    village's (closed ones too with ``include_closed``), less ``exclude``, within ``only`` if given;
    ``notes`` adds a word after a label (a card's state)."""
    choices = households.household_choices(runtime.db(), village_id, include_closed=include_closed)
    choices = [c for c in choices if c.id not in exclude and (only is None or c.id in only)]
    return _labels(choices, notes)


def pick_household(label: str, village_id: int, *, key: str, current: int | None = None,
                   include_closed: bool = False, exclude: Collection[int] = (), only: Collection[int] | None = None,
                   notes: Mapping[int, str] | None = None, search: str | None = None,
                   search_placeholder: str | None = None, search_key: str | None = None,
                   not_found: str = "没有找到这一户。", where: Any = None) -> int | None:
    """A household picked from the drop-down ``label`` (widget key ``key``), or None.

    ``current`` is shown as picked while it is offered. With ``search`` (the label of a search box,
    widget key ``search_key``, by default ``{key}_search``), typed text — a name, a door number, a scanned card — narrows the
    drop-down to the households it finds and picks the first one, unless ``current`` is among them.
    Works inside a form (without ``search`` there, as a form's text box takes effect only on submit)."""
    box = where or st
    labels = household_labels(village_id, include_closed=include_closed, exclude=exclude, only=only, notes=notes)
    narrowed = False
    if search is not None:
        text = box.text_input(search, key=search_key or f"{key}_search", placeholder=search_placeholder)
        if text.strip():
            try:
                found = households.find_choices(runtime.db(), village_id, text, include_closed=include_closed)
            except DomainError as e:  # a revoked card, a card of another village: said in Chinese
                say("error", e, box, icon=":material/error:")
                found = []
            hits = [c.id for c in found if c.id in labels]
            if not hits:
                box.warning(not_found)
                return None
            labels = {h: labels[h] for h in hits}
            narrowed = True
    ids = list(labels)
    # The drop-down keeps its own value across reruns (its options change with the search): it is
    # set here only when that value is not offered any more — a new search picks its first hit,
    # a household opened elsewhere (``current``) shows as picked — never over the user's own pick.
    if st.session_state.get(key) not in labels:
        st.session_state[key] = current if current in labels else (ids[0] if narrowed else None)
    return box.selectbox(label, ids, format_func=labels.get, index=None, placeholder=PLACEHOLDER, key=key)


def pick_households(label: str, village_id: int, *, key: str, include_closed: bool = False,
                    only: Collection[int] | None = None, notes: Mapping[int, str] | None = None,
                    where: Any = None) -> list[int]:
    """Several households from the same labels, in the same order (a batch of cards to reissue)."""
    labels = household_labels(village_id, include_closed=include_closed, only=only, notes=notes)
    return (where or st).multiselect(label, list(labels), format_func=labels.get, placeholder=PLACEHOLDER, key=key)
