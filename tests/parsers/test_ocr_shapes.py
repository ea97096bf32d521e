"""Letters OCR read for digits put right only where a value's shape is certain (parsers.ocr_shapes),
and an option's mark found beside its neighbours (parsers.ocr_layout): no OCR here, so these are fast."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFilter

from forms import registry
from parsers.ocr import Word
from parsers.ocr_layout import mark
from parsers.ocr_shapes import in_date, in_text, reference
from parsers.result import Answer
from parsers.scan import corrected


def test_an_o_read_for_a_zero_is_put_right_in_a_postcode_that_ends_an_address():
    text, changes = in_text("12 Example Row\nHuddersfield HD1 OXX")
    assert text == "12 Example Row\nHuddersfield HD1 0XX"
    assert changes == [("HD1 OXX", "HD1 0XX", "postcode")]
    assert in_text("Flat 2, 9 Tyne View, NE29 6QD.")[1] == []  # read right: nothing to change


@pytest.mark.parametrize(
    "free",
    [
        "I SAW HD1 OXX today",  # postcode-shaped, but inside a sentence, not ending an address
        "NO SEA",  # no digit was read: nothing says it is a postcode
        "GO TO",
        "The plan has drifted; review booked for 2O/11/2026.",  # a date in free text
        "Ring ext. 4O1 or Room B1 SAT",  # an S is not taken for a 5 in a postcode
        "QQ1 OXX",  # no such postcode area
        "Call 0191 OOO 0002 or after 5",  # a number in a sentence, not a line of its own
        "Ian.Smith@health.example and |ll",  # capitals: a "|" may be an I
    ],
)
def test_free_text_is_never_changed(free):
    assert in_text(free) == (free, [])


def test_a_phone_number_on_a_line_of_its_own_and_an_e_mail_address_are_put_right():
    text, changes = in_text("bethan.|lewellyn@health.example\n020 OOOO 0002")
    assert text == "bethan.llewellyn@health.example\n020 0000 0002"
    assert {kind for _, _, kind in changes} == {"e-mail address", "phone number"}
    assert in_text("O2O OOOO OOO2") == ("O2O OOOO OOO2", [])  # fewer than half its digits read as digits


def test_a_date_fields_answer_is_put_right_only_when_it_is_then_a_date():
    assert in_date("2O/11/2O26") == ("20/11/2026", [("2O/11/2O26", "20/11/2026", "date")])
    assert in_date("20/11/2026") == ("20/11/2026", [])
    assert in_date("3O/O2/2026") == ("3O/O2/2026", [])  # 30 February: no date either way, left for a person
    assert in_date("Soon") == ("Soon", [])


def test_a_case_reference_is_put_right_only_with_a_partnerships_prefix():
    assert reference("Our ref NT-2O26-0O07.", {"NT", "KC"}) == (
        "NT-2026-0007",
        [("NT-2O26-0O07", "NT-2026-0007", "case reference")],
    )
    assert reference("Our ref XY-2O26-0007.", {"NT"}) == (None, [])


def test_a_corrected_answer_keeps_its_confidence_and_the_change_is_said_in_plain_words():
    spec = registry().form("kirklees-appendix-5")
    answer = Answer("12 Example Row\nHuddersfield HD1 OXX", "Address", confidence=71.0)
    warnings = corrected(spec, "address", answer)
    assert answer.value == "12 Example Row\nHuddersfield HD1 0XX" and answer.confidence == 71.0
    assert warnings == [
        "'Address': OCR read 'HD1 OXX'; it was taken as the postcode 'HD1 0XX', the only reading a postcode "
        "allows; check it against the page image"
    ]
    rows = Answer([{"action": "Review on 2O/11/2026", "completion_date": "2O/11/2026"}], "Actions")
    assert len(corrected(spec, "actions", rows)) == 1
    assert rows.value == [{"action": "Review on 2O/11/2026", "completion_date": "20/11/2026"}]  # the date column only


def _options(blur: float) -> tuple[Image.Image, list[list[Word]]]:
    """Two radio buttons 15 pixels apart, the first chosen, each before its label, blurred as a copier
    blurs; with the words OCR reads on each line (the circle read as "©")."""
    image = Image.new("L", (400, 140), 255)
    draw = ImageDraw.Draw(image)
    lines = []
    for top, chosen in ((20, True), (75, False)):
        draw.ellipse((40, top, 80, top + 40), outline=0, width=4)
        if chosen:
            draw.ellipse((50, top + 10, 70, top + 30), fill=0)
        draw.text((95, top + 6), "Stage", fill=0, font_size=40, anchor="lt")
        lines.append([Word("©", 90, 40, top, 41, 41), Word("Stage", 96, 95, top + 6, 100, 36)])  # as OCR boxes them
    return (image.filter(ImageFilter.GaussianBlur(blur)) if blur else image), lines


@pytest.mark.parametrize("blur", [0, 1.2])
def test_an_options_mark_is_read_apart_from_the_next_options_mark_and_its_own_label(blur):
    """The region looked in about a mark reaches the next option's circle below and the blurred edge
    of its label's first letter beside it (as in a copier's scan): the mark is still found."""
    image, (first, second) = _options(blur)
    assert [mark(image, line, 36)[0] for line in (first, second)] == ["☒", "☐"]
    assert [w.text for w in mark(image, first, 36)[1]] == ["Stage"]


def test_the_letters_of_a_word_are_never_taken_for_a_mark():
    image = Image.new("L", (400, 80), 255)
    draw = ImageDraw.Draw(image)
    draw.text((10, 20), "or", fill=0, font_size=36, anchor="lt")  # the word before, where a mark would be
    draw.text((70, 20), "enquiry", fill=0, font_size=36, anchor="lt")
    box = draw.textbbox((70, 20), "enquiry", font_size=36, anchor="lt")
    word = Word("enquiry", 96, box[0], box[1], box[2] - box[0], box[3] - box[1])
    assert mark(image, [word], 30) == (None, [word])


@pytest.mark.parametrize("chosen", [False, True])
def test_a_circle_read_as_a_bracket_glued_to_its_options_word_is_its_mark(chosen):
    """A copier's scan: Tesseract reads the empty circle before "Health" as "(" and glues it on."""
    image = Image.new("L", (400, 80), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 20, 80, 60), outline=0, width=4)
    if chosen:
        draw.ellipse((50, 30, 70, 50), fill=0)
    box = draw.textbbox((100, 22), "Health", font_size=36, anchor="lt")
    draw.text((100, 22), "Health", fill=0, font_size=36, anchor="lt")
    glyph, words = mark(image, [Word("(Health", 20, 40, 20, box[2] - 40, 40)], 30)
    assert glyph == ("☒" if chosen else "☐")
    assert [w.text for w in words] == ["Health"] and 80 <= words[0].left < 100  # after the mark, before the H


def test_a_word_in_brackets_is_never_taken_for_a_mark():
    image = Image.new("L", (400, 80), 255)
    draw = ImageDraw.Draw(image)
    draw.text((40, 20), "(Health visitor)", fill=0, font_size=36, anchor="lt")
    box = draw.textbbox((40, 20), "(Health", font_size=36, anchor="lt")
    word = Word("(Health", 96, box[0], box[1], box[2] - box[0], box[3] - box[1])
    assert mark(image, [word], 30) == (None, [word])
