"""Image bombs: a photo's pixel count is checked from its header before anything is decoded, so a
small file that declares a huge picture is refused with a Chinese reason — in the evidence-photo
check, the counter's camera decoder, the harvest weighing photo and the pages that take them —
and no page ends in a traceback."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import pytest
from PIL import Image

from core.charity import field, produce
from core.committee import photos
from core.platform.errors import InvalidInput
from core.village import cards
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import make_village


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares width × height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00")) + _chunk(b"IEND", b"")


def real_png(width: int, height: int) -> bytes:
    """A complete, valid 1-bit PNG of width × height white pixels, written row by row (no big buffer)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


BOMB = png_declaring(20_000, 20_000)


def jpeg(width: int = 640, height: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, "JPEG")
    return buf.getvalue()


def test_a_sixty_byte_png_declaring_twenty_thousand_pixels_square_is_refused_in_chinese():
    assert len(BOMB) < 100
    with pytest.raises(InvalidInput, match="像素"):
        photos.check_image(BOMB, "bomb.png")


def test_a_complete_144_megapixel_photo_is_refused_before_it_is_decoded():
    big = real_png(12_000, 12_000)
    assert len(big) < photos.MAX_BYTES  # small on disk, 144 million pixels once decoded
    with pytest.raises(InvalidInput, match="像素"):
        photos.check_image(big, "big.png")


def test_an_ordinary_phone_photo_still_passes():
    assert photos.check_image(jpeg(4032, 3024), "phone.jpg") == ("image/jpeg", "jpg")


def test_the_camera_decoder_refuses_an_image_bomb_in_chinese():
    with pytest.raises(InvalidInput, match="像素"):
        cards.decode_image(BOMB)
    assert cards.decode_image(jpeg()) == []  # an ordinary photo without a code: nothing found


def test_a_harvest_weighing_photo_gets_the_same_check(tmp_path, sqlite_db):
    v = make_village(sqlite_db)
    lead = v.actors["field_lead"]
    plot = field.save_plot(sqlite_db, lead, name="一号地", area_mu="3")
    season = field.add_season(sqlite_db, lead, plot, crop="小麦", sown_on=dt.date.today() - dt.timedelta(days=90))
    with pytest.raises(InvalidInput, match="像素"):
        produce.record_harvest(sqlite_db, lead, season_id=season, date=dt.date.today(), kg=10, photo=BOMB,
                             photo_dir=tmp_path / "photos")
    assert not (tmp_path / "photos").exists() or not any((tmp_path / "photos").rglob("*"))


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    yield db, make_village(db, households=3)
    db.dispose()


def test_the_counter_camera_shows_a_chinese_refusal_for_an_image_bomb(small):
    db, v = small
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/checkout.py").run()
    at.toggle(key="checkout_camera_on").set_value(True).run()
    at.camera_input(key="checkout_camera").set_value(("shot.jpg", BOMB, "image/jpeg")).run()
    assert not at.exception
    shown = " ".join(str(e.value) for e in [*at.error, *at.warning])
    assert "像素" in shown


def test_the_proposal_form_shows_a_chinese_refusal_for_an_image_bomb(small):
    db, v = small
    at = app(v.actors["grid_worker"].user_id)
    at.switch_page("pages/proposal_new.py").run()
    at.text_input(key="pn_search").input("户主2").run()
    at.file_uploader(key="pn_photos_0").upload("bomb.png", BOMB, "image/png")
    next(b for b in at.button if (b.key or "").startswith("FormSubmitter:pn_form_0")).click().run()
    assert not at.exception
    assert any("像素" in e.value for e in at.error)
