"""Names shown in public (the office TV board, the printed 公示 sheet's private items): the family name
and the last character, the rest starred, so neighbours recognise a household without a full name
being posted."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三明 → 张*明, 张三 → 张*, 欧阳小明 → 欧**明; an empty name stays empty."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name[:1] + "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]



def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; a short number keeps its last two digits; empty stays empty."""
    phone = (phone or "").strip()
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * (len(phone) - 2) + phone[-2:] if phone else ""
