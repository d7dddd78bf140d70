"""Screenshots: sniff, measure and store them as PNG under ``screenshots/<episode_id>/<i>.png``.

A screenshot reaches an importer as a file (`Path`) or as bytes embedded in the
record (AndroidControl's TFRecords, Multimodal-Mind2Web's parquet). PNG bytes are
copied as they are; anything else Pillow can read (JPEG, WebP) is re-encoded as
PNG so every stored screenshot has the name and the format the suites use.
Pillow is imported lazily: importing the importers costs nothing.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from tracer1.data.importers.errors import FieldError

Image = Path | bytes
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _head(image: Image) -> bytes:
    if isinstance(image, bytes):
        return image[:8]
    with open(image, "rb") as fh:
        return fh.read(8)


def image_size(image: Image, where: str) -> tuple[int, int]:
    """(width, height) in pixels from the image header; a FieldError if unreadable."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(image) if isinstance(image, bytes) else image) as img:
            width, height = img.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise FieldError(where, f"not a readable image ({type(exc).__name__})") from None
    if width <= 0 or height <= 0:
        raise FieldError(where, f"image has no pixels ({width}x{height})")
    return width, height


def write_png(image: Image, dest: Path) -> None:
    """Store `image` at `dest` as PNG (copied when it already is one)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _head(image) == PNG_MAGIC:
        if isinstance(image, bytes):
            dest.write_bytes(image)
        else:
            shutil.copyfile(image, dest)
        return
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(image) if isinstance(image, bytes) else image) as img:
        img.save(dest, format="PNG")


__all__ = ["PNG_MAGIC", "Image", "image_size", "write_png"]
