"""A pdfplumber page whose characters and drawings are the dicts pdfplumber makes, made by copying.

pdfplumber turns each of pdfminer's layout objects into a dict by passing every attribute through
`resolve_all` (which follows PDF object references) and decoding the colour space's name letter by
letter. A character or a drawing comes from a content stream, where the PDF format allows no object
references, so both only copy: on a page of 2,000 table cells they were half the time it took to read.
`tests/parsers/test_pdf_objects.py` holds this page's objects equal to pdfplumber's own on every
kind of text PDF the service reads; anything else (images, a layout analysis, Unicode normalisation)
is left to pdfplumber.
"""

from __future__ import annotations

import functools

from pdfminer.layout import LTChar, LTCurve
from pdfplumber.page import ALL_ATTRS, Page
from pdfplumber.utils.pdfinternals import resolve_and_decode

_FROM_CONTENT = (LTChar, LTCurve)  # LTRect and LTLine are kinds of LTCurve


@functools.lru_cache(maxsize=64)
def _colour_space(name: str):
    """A colour space's name as pdfplumber decodes it, once per name rather than once per character."""
    return resolve_and_decode(name)


class ContentPage(Page):
    """pdfplumber's `Page`, with `process_object` copying what a content stream's objects hold."""

    @classmethod
    def of(cls, page: Page) -> ContentPage:
        return cls(page.pdf, page.page_obj, page_number=page.page_number, initial_doctop=page.initial_doctop)

    def process_object(self, obj):
        if not isinstance(obj, _FROM_CONTENT) or self.pdf.unicode_norm is not None or self.pdf.laparams is not None:
            return super().process_object(obj)
        attr = {k: v for k, v in obj.__dict__.items() if k in ALL_ATTRS}
        attr["object_type"] = obj.__class__.__name__[2:].lower()  # LTChar: "char"
        attr["page_number"] = self.page_number
        if isinstance(obj, LTChar):
            attr["ncs"] = _colour_space(obj.ncs.name)  # pdfminer names a colour space with a str
            attr["text"] = obj.get_text()
            scolor, ncolor = obj.graphicstate.scolor, obj.graphicstate.ncolor
            attr["stroking_color"] = scolor if isinstance(scolor, tuple) else (scolor,)
            attr["non_stroking_color"] = ncolor if isinstance(ncolor, tuple) else (ncolor,)
            if isinstance(attr["fontname"], bytes):  # a font named in bytes pdfplumber mends: let it
                return super().process_object(obj)
        else:
            attr["pts"] = list(map(self.point2coord, attr["pts"]))
            attr["path"] = [(cmd, *map(self.point2coord, pts)) for cmd, *pts in obj.original_path]
            attr["dash"] = obj.dashing_style
        mb_x0, mb_top = self.mediabox[:2]
        attr["top"] = (self.height - attr["y1"]) + mb_top
        attr["bottom"] = (self.height - attr["y0"]) + mb_top
        attr["doctop"] = self.initial_doctop + attr["top"]
        if mb_x0 != 0:
            attr["x0"] += mb_x0
            attr["x1"] += mb_x0
        return attr
