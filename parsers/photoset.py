"""Photos of one form's pages kept together as one received item: a zip that stores each photo as it
came (never compressed or re-encoded, so every byte is the original's), in page order, under its own
name, marked by the archive's comment so that only a set made here is read as one form's pages (any
other zip is still refused). Downloaded, it opens anywhere as the photos themselves.

Read within bounds before any photo is decoded: at most MAX_PAGES members, each stored (so its size
on disk is its size read: no zip bomb) and no larger than a document may be.
"""

from __future__ import annotations

import io
import zipfile

from parsers.result import ParseError, plain

MARKER = b"Escalate: photos of the pages of one form, in page order"
CONTENT_TYPE = "application/zip"
_WHEN = (1980, 1, 1, 0, 0, 0)  # a fixed time: the same photos make the same bytes (a duplicate is known)


def is_set(content_type: str | None, filename: str | None) -> bool:
    """Whether a kept file is a set of photos made here (a zip a person sent keeps its own name)."""
    return content_type == CONTENT_TYPE and not (filename or "").lower().endswith(".zip")


def pack(photos: list[tuple[str, bytes]]) -> bytes:
    """The photos (name, bytes), in page order, as one set."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for n, (name, content) in enumerate(photos, 1):
            # A member's name is unique and plain (its page number first); the person's name follows.
            archive.writestr(zipfile.ZipInfo(f"{n:02d}-{_plain(name)}", date_time=_WHEN), content)
        archive.comment = MARKER
    return out.getvalue()


def unpack(content: bytes) -> list[tuple[str, bytes]]:
    """The photos (name, bytes) in page order; ParseError when the set is damaged or beyond bounds."""
    from parsers import MAX_DOCUMENT_BYTES
    from parsers.ocr import MAX_PAGES

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_PAGES:
                raise ParseError(too_many(len(members)))
            for info in members:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > MAX_DOCUMENT_BYTES:
                    raise ParseError("refused: a photo in the set is compressed or larger than any page's photo")
            return [(info.filename.split("-", 1)[-1], archive.read(info)) for info in members]
    except ParseError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError) as exc:
        raise ParseError(f"not readable: the set of photos is damaged ({plain(exc)})") from None


def too_many(count: int) -> str:
    from parsers.ocr import MAX_PAGES

    return (
        f"refused: {count} photos or scans are more pages than one form has (OCR reads at most {MAX_PAGES} "
        "pages together); send each form's pages on their own"
    )


def _plain(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c in "._ ()" else "_" for c in base)[:100] or "photo"
