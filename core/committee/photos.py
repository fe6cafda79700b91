"""Evidence photos of proposals, stored as files under the data dir.

Checks: at most MAX_PHOTOS per proposal, each at most MAX_BYTES, at most MAX_PIXELS, and
really a JPEG, PNG or WebP image (read by Pillow, not trusted by its name or the browser's mime
type). The pixel count comes from the file's header before anything is decoded: a PNG of sixty
bytes can declare 20000×20000 pixels, 1.2 GB once decoded (an "image bomb").

No orphan files, no rows without files: a photo is first written as ``<name>.part``
before the database transaction; after the commit it is renamed to its final name (the
path the row stores). If the transaction fails the ``.part`` files are deleted. A crash
between commit and rename leaves a ``.part`` file that :func:`finalise` of the same
staged photo (or a human) can still rename; pages show a missing file as "照片缺失".
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.platform.errors import InvalidInput
from core.platform.images import open_image

MAX_PHOTOS = 4
MAX_BYTES = 5 * 1024 * 1024
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


@dataclass(frozen=True)
class StagedPhoto:
    rel_path: str  # final path relative to the data dir, stored in proposal_photo.path
    part: Path  # where the bytes wait until the commit
    final: Path
    mime: str
    size: int
    sha256: str


def check_image(data: bytes, filename: str = "") -> tuple[str, str]:
    """Return (mime, extension) of a valid image or raise InvalidInput in Chinese."""
    label = f"“{filename}”" if filename else "照片"
    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidInput(f"{label}是空文件。")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{label}太大（{len(data) / 1024 / 1024:.1f} MB），每张不超过 {MAX_BYTES // 1024 // 1024} MB。")
    with open_image(bytes(data), label) as img:
        fmt = img.format
        try:
            img.verify()
        except Exception:  # any failure to read the file means "not an image"
            raise InvalidInput(f"{label}不是图片：只能上传 JPG、PNG 或 WebP 照片。") from None
    if fmt not in FORMATS:
        raise InvalidInput(f"{label}的格式不支持：只能上传 JPG、PNG 或 WebP 照片。")
    return FORMATS[fmt]


def image_file_ok(path: Path) -> bool:
    """Whether a stored photo may be shown: its header declares at most MAX_PIXELS pixels.
    Photos stored before that check existed could be bombs; a page shows a note instead."""
    try:
        with open_image(Path(path).read_bytes()):
            return True
    except (InvalidInput, OSError):
        return False


def check_all(photos) -> list[tuple[str, bytes, str, str]]:
    """Validate every photo before anything is written: [(filename, data, mime, ext)]."""
    photos = list(photos or ())
    if len(photos) > MAX_PHOTOS:
        raise InvalidInput(f"每条申报最多 {MAX_PHOTOS} 张照片。")
    out = []
    for item in photos:
        name, data = item if isinstance(item, tuple) else ("", item)
        mime, ext = check_image(bytes(data) if isinstance(data, bytearray) else data, name)
        out.append((name, bytes(data), mime, ext))
    return out


def default_dir() -> Path:
    from core.platform.config import load

    return load().data_dir


def stage(checked, village_id: int, data_dir: Path | None = None) -> list[StagedPhoto]:
    """Write each checked photo to ``<final>.part``; call before the transaction."""
    base = Path(data_dir) if data_dir is not None else default_dir()
    out: list[StagedPhoto] = []
    try:
        for _name, data, mime, ext in checked:
            rel = f"photos/{village_id}/{uuid.uuid4().hex}.{ext}"
            final = base / rel
            final.parent.mkdir(parents=True, exist_ok=True)
            part = final.with_name(final.name + ".part")
            part.write_bytes(data)
            out.append(StagedPhoto(rel, part, final, mime, len(data), hashlib.sha256(data).hexdigest()))
    except BaseException:
        discard(out)
        raise
    return out


def finalise(staged: list[StagedPhoto]) -> None:
    """After the commit: give each photo its final name (atomic rename)."""
    for p in staged:
        os.replace(p.part, p.final)


def discard(staged: list[StagedPhoto]) -> None:
    """After a failed transaction: remove the waiting files."""
    for p in staged:
        p.part.unlink(missing_ok=True)


def path_of(rel_path: str, data_dir: Path | None = None) -> Path | None:
    """The file of a stored photo, or None when it is missing or outside the data dir."""
    base = (Path(data_dir) if data_dir is not None else default_dir()).resolve()
    full = (base / rel_path).resolve()
    if base not in full.parents or not full.is_file():
        return None
    return full


def recover(db, data_dir: Path | None = None) -> tuple[int, int]:
    """At start-up only (a live upload's ``.part`` may be in flight otherwise): finish a
    rename that a crash interrupted after the commit, remove a ``.part`` whose transaction
    never committed. Returns (finished, removed)."""
    from sqlalchemy import select

    from db.models import Harvest, ProposalPhoto

    base = Path(data_dir) if data_dir is not None else default_dir()
    photo_root = base / "photos"
    if not photo_root.exists():
        return 0, 0
    with db.read() as s:
        rows = set(s.execute(select(ProposalPhoto.path)).scalars())
        # harvest photos are stored relative to the photo folder
        rows |= {f"photos/{p}" for p in s.execute(select(Harvest.photo_path).where(Harvest.photo_path != "")).scalars()}
    finished = removed = 0
    for part in photo_root.rglob("*.part"):
        rel = part.relative_to(base).as_posix().removesuffix(".part")
        if rel in rows:
            os.replace(part, base / rel)
            finished += 1
        else:
            part.unlink(missing_ok=True)
            removed += 1
    return finished, removed
