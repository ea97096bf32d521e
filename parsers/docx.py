"""Word documents (.docx) to blocks: paragraphs and tables, with every kind of tick box as ☒ or ☐.

The XML is read with lxml rather than python-docx, because python-docx does not see content
controls (w:sdt) and is slower. Ticks come from typed marks, Word 2010 checkbox content controls
(w14:checkbox), legacy FORMCHECKBOX fields (w:ffData/w:checkBox) and Wingdings symbols; text from
legacy FORMTEXT fields and content controls (placeholders ignored); deleted tracked text is skipped.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from lxml import etree

from parsers.blocks import Para, Table
from parsers.result import ParseError

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
DOCUMENT = "word/document.xml"
# Strict Open XML (ISO/IEC 29500 Strict, "Strict Open XML Document" in Word's Save As) names the same
# elements in other namespaces; read as Transitional once its namespace is mapped.
STRICT_W = b"http://purl.oclc.org/ooxml/wordprocessingml/main"
_MAIN = b"/officeDocument"

MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 25 * 1024 * 1024  # any one part, uncompressed
MAX_TOTAL_BYTES = 100 * 1024 * 1024  # all parts, uncompressed
MAX_RATIO = 200  # a zip bomb compresses far better than any real document part

_WINGDINGS = {"F0FE": "☒", "F078": "☒", "F0FD": "☒", "F06F": "☐", "F0A8": "☐", "F072": "☐", "F0FC": "✓"}
_SKIP = {f"{{{W}}}delText", f"{{{W}}}instrText", f"{{{W}}}del", f"{{{MC}}}Fallback", f"{{{W}}}sdtPr"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def open_zip(content: bytes, what: str = "Word document") -> zipfile.ZipFile:
    """A zip whose declared sizes are checked before anything is read (zip bombs are refused)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise ParseError(f"not a {what}: the file is not a complete zip archive (damaged or truncated)") from None
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ParseError(f"refused: the {what} has {len(infos)} parts (at most {MAX_MEMBERS})")
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_MEMBER_BYTES or (info.file_size > 1_000_000 and ratio > MAX_RATIO):
            raise ParseError(
                f"refused: part {info.filename} of the {what} unpacks to {info.file_size:,} bytes "
                f"from {info.compress_size:,} (a zip bomb, or too large)"
            )
    if total > MAX_TOTAL_BYTES:
        raise ParseError(f"refused: the {what} unpacks to {total:,} bytes (at most {MAX_TOTAL_BYTES:,})")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, what: str = "Word document") -> bytes:
    """A part's bytes, stopping at the limit whatever its header claims."""
    try:
        with archive.open(name) as stream:
            data = stream.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ParseError(f"not a readable {what}: part {name} is damaged ({exc})") from None
    if len(data) > MAX_MEMBER_BYTES:
        raise ParseError(f"refused: part {name} of the {what} is larger than {MAX_MEMBER_BYTES:,} bytes")
    return data


def parse_xml(data: bytes, name: str):
    """XML without DTDs: entity declarations (billion laughs, external entities) are refused outright."""
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        raise ParseError(f"refused: {name} declares a DTD or entities, which no Word document does")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not a readable Word document: {name} is not well-formed XML ({exc})") from None


def docx_blocks(content: bytes) -> tuple[list, str]:
    """(blocks of the body, text of headers and footers, where a case reference may be)."""
    archive = open_zip(content)
    names = set(archive.namelist())
    main = _main_part(archive, names)
    if main not in names:
        if "content.xml" in names:
            raise ParseError("not a Word document: this is an OpenDocument file (.odt); save it as .docx")
        raise ParseError("not a Word document: the zip has no document part (word/document.xml)")
    data = read_member(archive, main)
    strict = STRICT_W in data[:4096]
    root = parse_xml(data.replace(STRICT_W, W.encode()) if strict else data, main)
    body = root.find(f"{{{W}}}body")
    if body is None:
        if root.tag.startswith("{http://purl.oclc.org/"):
            raise ParseError(
                "not readable: a Strict Open XML document of a kind not read here; save it as Word (.docx)"
            )
        raise ParseError("not a readable Word document: its document part has no body (no w:body)")
    blocks: list = []
    _collect(body, blocks)
    extra = []
    for name in sorted(names):
        if name.startswith(("word/header", "word/footer")) and name.endswith(".xml"):
            part = read_member(archive, name)
            extra.append(_text(parse_xml(part.replace(STRICT_W, W.encode()) if strict else part, name)))
    return blocks, "\n".join(extra)


def _main_part(archive: zipfile.ZipFile, names: set[str]) -> str:
    """The document part the package's relationships name (word/document.xml in all but a few writers)."""
    if DOCUMENT in names or "_rels/.rels" not in names:
        return DOCUMENT
    try:
        rels = parse_xml(read_member(archive, "_rels/.rels"), "_rels/.rels")
    except ParseError:
        return DOCUMENT
    for rel in rels:
        if (rel.get("Type") or "").encode().endswith(_MAIN):
            return (rel.get("Target") or DOCUMENT).lstrip("/")
    return DOCUMENT


def _collect(parent, blocks: list) -> None:
    for child in parent:
        tag = child.tag
        if tag == f"{{{W}}}p":
            blocks.append(Para(_text(child)))
        elif tag == f"{{{W}}}tbl":
            rows = []
            for tr in child.iter(f"{{{W}}}tr"):
                if _ancestor_table(tr) is not child:
                    continue
                rows.append([_cell_text(tc) for tc in _cells(tr)])
            blocks.append(Table(rows))
        elif tag == f"{{{W}}}sdt":
            if _checkbox(child) is not None:
                blocks.append(Para(_checkbox(child)))
            else:
                content = child.find(f"{{{W}}}sdtContent")
                if content is not None:
                    _collect(content, blocks)
        elif tag in (f"{{{W}}}customXml", f"{{{W}}}ins"):
            _collect(child, blocks)


def _ancestor_table(el):
    el = el.getparent()
    while el is not None and el.tag != f"{{{W}}}tbl":
        el = el.getparent()
    return el


def _cells(tr):
    for child in tr:
        if child.tag == f"{{{W}}}tc":
            yield child
        elif child.tag in (f"{{{W}}}sdt", f"{{{W}}}customXml"):
            content = child.find(f"{{{W}}}sdtContent") if child.tag == f"{{{W}}}sdt" else child
            if content is not None:
                yield from (tc for tc in content if tc.tag == f"{{{W}}}tc")


def _cell_text(tc) -> str:
    parts: list[str] = []
    for child in tc:
        if child.tag == f"{{{W}}}p":
            parts.append(_text(child))
        elif child.tag == f"{{{W}}}tbl":
            for tr in child.iter(f"{{{W}}}tr"):
                parts.append("  ".join(_cell_text(c) for c in _cells(tr)))
        elif child.tag == f"{{{W}}}sdt":
            box = _checkbox(child)
            if box is not None:
                parts.append(box)
                continue
            content = child.find(f"{{{W}}}sdtContent")
            if content is not None and not _placeholder(child):
                parts.append(_cell_text(content))
    return "\n".join(parts)


def _checkbox(sdt) -> str | None:
    pr = sdt.find(f"{{{W}}}sdtPr")
    box = None if pr is None else pr.find(f"{{{W14}}}checkbox")
    if box is None:
        return None
    checked = box.find(f"{{{W14}}}checked")
    on = checked is not None and checked.get(f"{{{W14}}}val", "1") in ("1", "true", "on")
    return "☒" if on else "☐"


def _placeholder(sdt) -> bool:
    pr = sdt.find(f"{{{W}}}sdtPr")
    return pr is not None and pr.find(f"{{{W}}}showingPlcHdr") is not None


def _form_checkbox(fld_char) -> str | None:
    box = fld_char.find(f"{{{W}}}ffData/{{{W}}}checkBox")
    if box is None:
        return None
    state = box.find(f"{{{W}}}checked")
    if state is None:
        state = box.find(f"{{{W}}}default")
        if state is None:
            return "☐"
    return "☒" if state.get(f"{{{W}}}val", "1") in ("1", "true", "on") else "☐"


def _text(el) -> str:
    out: list[str] = []
    _walk(el, out)
    return "".join(out)


def _walk(el, out: list[str]) -> None:
    for child in el:
        tag = child.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == f"{{{W}}}t":
            out.append(child.text or "")
        elif tag == f"{{{W}}}tab":
            out.append("\t")
        elif tag in (f"{{{W}}}br", f"{{{W}}}cr"):
            out.append("\n")
        elif tag == f"{{{W}}}p":
            if out and not out[-1].endswith("\n"):
                out.append("\n")
            _walk(child, out)
        elif tag == f"{{{W}}}sym":
            out.append(_WINGDINGS.get((child.get(f"{{{W}}}char") or "").upper(), ""))
        elif tag == f"{{{W}}}fldChar":
            box = _form_checkbox(child)
            if box is not None:
                out.append(box)
        elif tag == f"{{{W}}}sdt":
            box = _checkbox(child)
            if box is not None:
                out.append(box)
            elif not _placeholder(child):
                _walk(child, out)
        else:
            _walk(child, out)
