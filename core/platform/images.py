"""Opening an uploaded image safely: the pixel count comes from the file's header before anything
is decoded, so an "image bomb" (a PNG of sixty bytes declaring 20000×20000 pixels, 1.2 GB once
decoded) is refused in Chinese instead of exhausting memory. Used by evidence photos, card
photos read by the camera and the field's weighing photos."""

from __future__ import annotations

import io

from core.platform.errors import ImageTooLarge, InvalidInput

# 50 megapixels: a phone's full resolution (8160×6120 for a "50 MP" camera) still passes, and
# decoding one takes ~150 MB. Pillow's own guard only warns below 89 and refuses above 179 megapixels.
MAX_PIXELS = 50_000_000


def open_image(data: bytes, label: str = "照片"):
    """Open an image for reading its header only, refusing one that declares more than
    MAX_PIXELS pixels before a single pixel is decoded. Raises InvalidInput in Chinese."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"{label}的像素太多，每张不超过 {MAX_PIXELS // 10_000} 万像素：请用手机的普通拍照模式重拍。"
                           ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError):
        raise InvalidInput(f"{label}不是图片：只能上传 JPG、PNG 或 WebP 照片。") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise ImageTooLarge(f"{label}的像素太多（{width}×{height}，约 {width * height // 10_000} 万像素），"
                           f"每张不超过 {MAX_PIXELS // 10_000} 万像素：请用手机的普通拍照模式重拍。")
    return img
