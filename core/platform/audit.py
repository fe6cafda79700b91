"""The audit log: who did what, when and why. Written inside the caller's transaction,
so an audited change and its audit row commit or roll back together."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from core.platform.access import Actor
from db.models import AuditLog

ACTOR_KEY = "_by"  # in ``detail``: who acted when it was not a staff user (shown as 操作人)


def record(
    s: Session,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: object = "",
    detail: dict | None = None,
    reason: str = "",
    village_id: int | None = None,
) -> None:
    detail = dict(detail or {})
    if actor.user_id is None and not actor.system:  # a resident by card or self-report: no staff row to name
        detail[ACTOR_KEY] = actor.name
    s.add(
        AuditLog(
            user_id=actor.user_id,
            village_id=village_id if village_id is not None else actor.village_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=json.dumps(detail, ensure_ascii=False, default=str),
            reason=reason,
        )
    )
