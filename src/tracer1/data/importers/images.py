"""Screenshots: sniff, measure and store them as PNG under ``screenshots/<episode_id>/<i>.png``.

A screenshot reaches an importer as a file (`Path`) or as bytes embedded in the
record (AndroidControl's TFRecords, Multimodal-Mind2Web's parquet). PNG bytes are
copied as they are; anything else Pillow can read (JPEG, WebP) is re-encoded as
PNG so every stored screenshot has the name and the format the suites use.
Pillow is imported lazily: importing the importers costs nothing.

An image Pillow refuses to open (unreadable, or larger than its decompression-bomb
limit, ``PIL.Image.MAX_IMAGE_PIXELS`` x 2) is a `FieldError` of the record that
names it, so a lenient import skips that record and a strict one reports it;
Pillow's own exception would otherwise end the whole import.
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


def _open(image: Image, where: str):
    """Pillow's image, or a FieldError: unreadable, or over the decompression-bomb limit."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        return PILImage.open(io.BytesIO(image) if isinstance(image, bytes) else image)
    except PILImage.DecompressionBombError as exc:
        # Pillow raises this at open, from the header alone: nothing was decoded yet.
        raise FieldError(where, f"image too large to decode safely ({exc})") from None
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise FieldError(where, f"not a readable image ({type(exc).__name__})") from None


def image_size(image: Image, where: str) -> tuple[int, int]:
    """(width, height) in pixels from the image header; a FieldError if unreadable."""
    with _open(image, where) as img:
        width, height = img.size
    if width <= 0 or height <= 0:
        raise FieldError(where, f"image has no pixels ({width}x{height})")
    return width, height


def write_png(image: Image, dest: Path, where: str = "screenshot") -> None:
    """Store `image` at `dest` as PNG (copied when it already is one).

    A FieldError naming `where` when a non-PNG image cannot be decoded (a truncated
    JPEG fails only here, when its pixels are read, not when its header is).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _head(image) == PNG_MAGIC:
        if isinstance(image, bytes):
            dest.write_bytes(image)
        else:
            shutil.copyfile(image, dest)
        return
    with _open(image, where) as img:
        try:
            img.save(dest, format="PNG")
        except (OSError, ValueError) as exc:
            dest.unlink(missing_ok=True)
            raise FieldError(where, f"not a readable image ({type(exc).__name__}: {exc})") \
                from None


__all__ = ["PNG_MAGIC", "Image", "image_size", "write_png"]
