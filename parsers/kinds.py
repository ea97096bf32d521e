"""What a file is, from its bytes first and its name second, and the reason for the kinds refused.

A renamed file is read for what it is: an Outlook message saved as .doc, a photo named .eml. Two
containers hold many kinds: an OLE compound file is a Word 97-2003 document, an Outlook message, a
password-protected Office file (any Office file with a password is one), a spreadsheet or a
presentation; a zip is a Word document (Transitional or Strict Open XML, with or without macros,
or a template), an OpenDocument text, a spreadsheet or a presentation.
"""

from __future__ import annotations

import io
import zipfile

DOCUMENTS = ("docx", "pdf", "doc", "odt", "rtf", "image", "heic", "photos")  # what parse_document reads
IMAGES = ("image", "heic")  # read by OCR; HEIC (an iPhone's photos) through pillow-heif
CONVERTED = ("doc", "odt", "rtf")  # read after LibreOffice makes them a DOCX
# "photos": photos of one form's pages uploaded together, kept as one set (parsers.photoset)

_REFUSED = {
    "encrypted": "not readable: the Office file is protected by a password; send it again without the password",
    "spreadsheet": "not a document: the file is a spreadsheet (Excel or OpenDocument); send the Word form or a PDF",
    "presentation": "not a document: the file is a presentation (PowerPoint); send the Word form or a PDF",
    "ole": "not a document: the file is an Office file of a kind that is not a Word document or an Outlook message",
    "zip": "not a document: the file is a zip archive, not a Word document; send the form itself",
}


def refusal(kind: str) -> str | None:
    """The reason a person reads for a kind that is never read, or None."""
    return _REFUSED.get(kind)


def sniff(content: bytes, filename: str | None = None) -> str:
    """pdf, docx, doc, odt, rtf, image, photos, msg, email or text; a kind refusal() explains; or unknown."""
    name = (filename or "").lower()
    if content.startswith(b"%PDF") or b"%PDF-" in content[:1024]:
        return "pdf"
    if content.startswith(b"PK"):
        return _zip_kind(content)
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(content, name)
    if content.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    image = _image_kind(content[:32])
    if image is not None:
        return image
    head = content[:4096]
    if name.endswith(".eml") or _looks_like_email(head):
        return "email"
    if name.endswith((".txt", ".text")):
        return "text"
    return "unknown"


def _image_kind(head: bytes) -> str | None:
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")):
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "heic"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image"
    return None


def _looks_like_email(head: bytes) -> bool:
    lines = head.split(b"\n", 30)[:30]
    headers = {line.split(b":", 1)[0].strip().lower() for line in lines if b":" in line[:40]}
    return len(headers & {b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"received"}) >= 2


def _zip_kind(content: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return "docx"  # damaged: the Word reader names what is wrong with it
    from parsers.photoset import MARKER

    if archive.comment == MARKER:
        return "photos"
    if any(n.startswith("word/") for n in names):
        return "docx"
    if "content.xml" in names:
        try:
            with archive.open("mimetype") as member:  # at most 100 bytes, however large it unpacks; none: KeyError
                mimetype = member.read(100)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError):
            mimetype = b""
        if b"spreadsheet" in mimetype:
            return "spreadsheet"
        if b"presentation" in mimetype:
            return "presentation"
        return "odt"
    if any(n.startswith("xl/") for n in names):
        return "spreadsheet"
    if any(n.startswith("ppt/") for n in names):
        return "presentation"
    if "[Content_Types].xml" in names or "_rels/.rels" in names:
        return "docx"  # an Open XML package whose main part is elsewhere: the Word reader finds it or says so
    return "zip"


def _ole_kind(content: bytes, name: str) -> str:
    """The kind of an OLE compound file, by the streams it holds."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(content))
        streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=True)}
        word = ole.openstream("WordDocument").read(12) if ole.exists("WordDocument") else b""
        ole.close()
    except Exception:  # olefile raises many kinds for a damaged file
        return "doc" if name.endswith((".doc", ".dot")) else "msg"  # the reader then names what is wrong
    if {"encryptioninfo", "encryptedpackage"} <= streams:
        return "encrypted"  # Office 2007 and later with a password: an encrypted Open XML package inside
    if "worddocument" in streams:
        # The FIB's fEncrypted flag (bit 8 of the flags at offset 10): a Word 97-2003 file with a password.
        if len(word) >= 12 and int.from_bytes(word[10:12], "little") & 0x0100:
            return "encrypted"
        return "doc"
    if any(s.startswith("__substg1.0_") or s.startswith("__properties_version1.0") for s in streams):
        return "msg"
    if streams & {"workbook", "book"}:
        return "spreadsheet"
    if "powerpoint document" in streams:
        return "presentation"
    if name.endswith(".msg"):
        return "msg"
    return "ole"
