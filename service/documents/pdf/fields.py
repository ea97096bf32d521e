"""AcroForm fields for the PDF documents, built directly on reportlab's PDF object layer.

reportlab's own `canvas.acroForm` cannot give the fields this service needs: it writes flat names
with dots in them (a partial name may not hold a period), always draws text with one of the
standard 14 fonts and cannot write a read-only value without an appearance of it. So this module
writes the field dictionaries itself:

- Names are real PDF field hierarchies: "actions.1.by_whom" is a field "by_whom" whose parent is
  "1", whose parent is "actions", so every reader (Acrobat, browsers, pypdf, pdftk) reports the
  same fully qualified name.
- Values are UTF-16 text strings, so any name and any line break reads back exactly.
- Text fields use Helvetica (/Helv in the form's resources) for what a person types into a blank
  form; a reader draws those values itself. Checkboxes and radio buttons carry their own "on"
  appearance (a tick or a dot) and an empty "off" one; the box around them is page content.
"""

from __future__ import annotations

import codecs
import re

from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import PDFArray, PDFObject

READ_ONLY = 1 << 0
MULTILINE = 1 << 12
NO_TOGGLE_TO_OFF = 1 << 14
RADIO = 1 << 15
DO_NOT_SPELL_CHECK = 1 << 22

PRINT = 1 << 2
HIDDEN = 1 << 1

MARK_SIZE = 10.0
# A tick and a dot drawn in a MARK_SIZE square; the page draws the same paths under a completed
# form's marks, so the two coincide whatever a reader does with the widgets.
TICK_PATH = "0.1 0.1 0.1 RG 1.4 w 1 J 1 j 2.2 5.4 m 4.2 3 l 8 7.8 l S"
DOT_PATH = (
    "0.1 0.1 0.1 rg 7.5 5 m 7.5 6.38 6.38 7.5 5 7.5 c 3.62 7.5 2.5 6.38 2.5 5 c "
    "2.5 3.62 3.62 2.5 5 2.5 c 6.38 2.5 7.5 3.62 7.5 5 c f"
)
TEXT_APPEARANCE = "/Helv 9 Tf 0 g"

_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def pdf_name(value: str) -> str:
    """A PDF name object for an export value, escaping anything outside a safe set."""
    return "/" + _NAME_SAFE.sub(lambda m: "".join(f"#{b:02X}" for b in m.group().encode("utf-8")), value)


def text_string(value: str) -> bytes:
    """A PDF text string in UTF-16 with its byte order mark, written in hex: exact for every
    character, with nothing (brackets, backslashes, line breaks) to escape."""
    return b"<" + (codecs.BOM_UTF16_BE + value.encode("utf-16-be")).hex().encode("ascii") + b">"


def _rect(x: float, y: float, w: float, h: float) -> bytes:
    return f"[{fp_str(x, y, x + w, y + h)}]".encode("ascii")


class _Dict(PDFObject):
    """A dictionary of pre-formatted values (bytes) and references resolved when the file is written.

    Written straight to bytes: a form has hundreds of these, and reportlab's general PDFDictionary
    formatting was most of the time a completed form took to write."""

    def __init__(self, entries: dict):
        self.entries = entries

    def format(self, document) -> bytes:
        parts = [b"<<"]
        for key, value in self.entries.items():
            parts.append(b"/" + key.encode("ascii"))
            parts.append(value if isinstance(value, bytes) else value.format(document))
        parts.append(b">>")
        return b" ".join(parts)


class _Appearance(PDFObject):
    """A form XObject: what a widget shows (an empty one shows nothing)."""

    __RefOnly__ = 1

    def __init__(self, content: bytes, w: float, h: float):
        self.content = content
        self.box = f"[0 0 {fp_str(w, h)}]".encode("ascii")

    def format(self, document) -> bytes:
        head = b"<< /Type /XObject /Subtype /Form /BBox " + self.box + b" /Length %d >>" % len(self.content)
        return head + b"\nstream\n" + self.content + b"\nendstream\n"


class FormFields:
    """The fields of one document. Call the add methods while the page they sit on is current."""

    def __init__(self, canvas):
        self._canvas = canvas
        self._doc = canvas._doc
        self._fields = PDFArray([])
        self._nodes: dict[str, tuple] = {}
        self._radios: dict[str, _Dict] = {}
        self._empty = self._appearance(b"")
        self._tick = self._appearance(TICK_PATH.encode("ascii"))
        self._dot = self._appearance(DOT_PATH.encode("ascii"))

    def _appearance(self, content: bytes, w: float = MARK_SIZE, h: float = MARK_SIZE):
        return self._doc.Reference(_Appearance(content, w, h))

    def _place(self, qualified: str, field: dict) -> None:
        """Give a field its partial name and parent, creating the parents it needs."""
        *parents, name = qualified.split(".")
        kids = self._fields
        parent_ref = None
        path = ""
        for part in parents:
            path = f"{path}.{part}" if path else part
            if path not in self._nodes:
                node_kids = PDFArray([])
                node = {"T": text_string(part), "Kids": node_kids}
                if parent_ref is not None:
                    node["Parent"] = parent_ref
                ref = self._doc.Reference(_Dict(node))
                kids.sequence.append(ref)
                self._nodes[path] = (ref, node_kids)
            parent_ref, kids = self._nodes[path]
        field["T"] = text_string(name)
        if parent_ref is not None:
            field["Parent"] = parent_ref
        kids.sequence.append(self._widget(field))

    def _widget(self, entries: dict):
        entries.update(Type=b"/Annot", Subtype=b"/Widget", P=self._doc.thisPageRef())
        widget = _Dict(entries)
        self._canvas._addAnnotation(widget)
        return self._doc.Reference(widget)

    def text(self, name, x, y, w, h, *, tooltip, value=None, multiline=False, hidden=False):
        """A text field. A hidden one only carries its value: the page shows the answer."""
        flags = (MULTILINE if multiline else 0) | (READ_ONLY if hidden else 0)
        field = {
            "FT": b"/Tx",
            "Rect": _rect(x, y, w, h),
            "F": b"%d" % (HIDDEN | PRINT if hidden else PRINT),
            "Ff": b"%d" % flags,
            "DA": b"(" + TEXT_APPEARANCE.encode("ascii") + b")",
            "TU": text_string(tooltip),
            # A fillable field needs its own empty appearance, as a reader that fills it rewrites
            # the stream in place; a hidden one is never drawn, so they all share one.
            "AP": _Dict({"N": self._empty if hidden else self._appearance(b"", w, h)}),
        }
        if value is not None:
            field["V"] = text_string(value)
        self._place(name, field)

    def checkbox(self, name, x, y, *, tooltip, checked=False, read_only=False):
        state = b"/Yes" if checked else b"/Off"
        field = {
            "FT": b"/Btn",
            "Rect": _rect(x, y, MARK_SIZE, MARK_SIZE),
            "F": b"%d" % PRINT,
            "Ff": b"%d" % (READ_ONLY if read_only else 0),
            "V": state,
            "AS": state,
            "TU": text_string(tooltip),
            "DA": b"(/ZaDb 0 Tf 0 g)",
            "MK": b"<< /CA (4) >>",
            "AP": _Dict({"N": _Dict({"Yes": self._tick, "Off": self._empty})}),
        }
        self._place(name, field)

    def radio(self, name, value, x, y, *, tooltip, selected=False, read_only=False):
        """One button of the radio group `name`; its on state (export value) is `value`."""
        group = self._radios.get(name)
        if group is None:
            flags = RADIO | NO_TOGGLE_TO_OFF | (READ_ONLY if read_only else 0)
            entries = {"FT": b"/Btn", "Ff": b"%d" % flags, "V": b"/Off", "Kids": PDFArray([])}
            # A choice key is a plain name: the group is a top-level field.
            entries.update(T=text_string(name), TU=text_string(tooltip))
            group = self._radios[name] = _Dict(entries)
            self._fields.sequence.append(self._doc.Reference(group))
        on = pdf_name(value)
        if selected:
            group.entries["V"] = on.encode("ascii")
        widget = {
            "Parent": self._doc.Reference(group),
            "Rect": _rect(x, y, MARK_SIZE, MARK_SIZE),
            "F": b"%d" % PRINT,
            "AS": on.encode("ascii") if selected else b"/Off",
            "MK": b"<< /CA (l) >>",
            "AP": _Dict({"N": _Dict({on[1:]: self._dot, "Off": self._empty})}),
        }
        group.entries["Kids"].sequence.append(self._widget(widget))

    def finish(self) -> None:
        """Attach the form to the document catalog."""
        helvetica = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
        zapf = b"<< /Type /Font /Subtype /Type1 /BaseFont /ZapfDingbats >>"
        resources = b"<< /Font << /Helv " + helvetica + b" /ZaDb " + zapf + b" >> >>"
        form = {"Fields": self._fields, "DA": b"(" + TEXT_APPEARANCE.encode("ascii") + b")", "DR": resources}
        self._doc._catalog.AcroForm = self._doc.Reference(_Dict(form))
