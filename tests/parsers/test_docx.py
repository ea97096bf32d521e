"""Word forms as the partnerships published them, filled in and edited in every way people do."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from forms import registry
from parsers import ParseError, parse

LEGACY = Path("/work/shared/samples/legacy-forms")
pytestmark = pytest.mark.skipif(not LEGACY.exists(), reason="the partnerships' sample forms are not on this machine")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def uk(date: str) -> str:
    day, month, year = date.split("/")
    return f"{year}-{month}-{day}"


def expected_data() -> dict[str, dict]:
    """expected.json (what was typed into each form) as canonical data keyed by our spec keys."""
    typed = json.loads((LEGACY / "expected.json").read_text(encoding="utf-8"))
    nt, k5 = typed["nt"], typed["k5"]
    return {
        "nt-appendix-a": {
            "name": nt["Name"],
            "role": nt["Role"],
            "agency": nt["Agency"],
            "contact_details": nt["Contact details"],
            "worry": nt["worry"],
            "done": nt["done"],
            "outcome": nt["outcome"],
            "section_a": nt["A"],
            "section_b": nt["B"],
        },
        "kirklees-appendix-5": {
            "child_name": k5["Child/Family's name"],
            "dob": uk(k5["D.O.B."]),
            "address": k5["Address"],
            "agency_initiating": k5["Agency Initiating Escalation"],
            "date_initial": uk(k5["Date of initial escalation"]),
            "stage": k5["stage"].removeprefix("Stage "),
            "nature": ["plan-effectiveness", "information-sharing"],
            "details": k5["details"],
            "by_name": k5["by"][0],
            "by_job_title": k5["by"][1],
            "by_agency": k5["by"][2],
            "to_name": k5["to"][0],
            "to_job_title": k5["to"][1],
            "to_agency": k5["to"][2],
            "response_name": k5["response_from"][0],
            "response_job_title": k5["response_from"][1],
            "response_agency": k5["response_from"][2],
            "response_date": uk(k5["response_date"]),
            "response_summary": k5["response"],
            "actions": [{"action": a, "by_whom": b, "completion_date": uk(c)} for a, b, c in k5["actions"]],
            "comments": k5["comments"],
            "signature": "A. Haddad",
            "signature_date": "2026-11-11",
            "designation": "Health Visitor Team Leader",
        },
        "kirklees-appendix-3": {
            "rows": [
                dict(
                    zip(
                        ["meeting_date", "family", "cp_chair", "agency", "agency_rep", "reason"],
                        [uk(r[0]), *r[1:]],
                        strict=True,
                    )
                )
                for r in typed["k3"]
            ]
        },
    }


def read(form_id: str, content: bytes | None = None):
    content = content or (LEGACY / f"{form_id}.docx").read_bytes()
    result = parse(content, f"{form_id}.docx")
    assert result.form_id == form_id, result.reason
    data, errors = result.canonical(registry().form(form_id))
    return result, data, errors


@pytest.mark.parametrize("form_id", ["nt-appendix-a", "kirklees-appendix-5", "kirklees-appendix-3"])
def test_published_form_reads_what_was_typed(form_id):
    result, data, _errors = read(form_id)
    want = expected_data()[form_id]
    assert {k: data[k] for k in want} == want
    assert not any("not read" in w for w in result.warnings), result.warnings


def test_labels_are_kept_and_missing_required_answers_are_warned():
    result, _data, errors = read("nt-appendix-a")
    assert result.answers["worry"].label == "Brief description of your worry about a decision made"
    assert result.answers["section_b"].label == "Section B"
    # The published Appendix A has no stage or receiving agency: a person must add them.
    assert "required field 'Stage of the policy reached' is empty" in result.warnings
    assert set(errors) == {"stage", "receiving_agency"}


def test_claimed_stage_and_ticks():
    result, _data, _ = read("kirklees-appendix-5")
    assert result.claimed_stage == "5"
    assert result.partnership == "kirklees"


# --- the same forms edited in Word or other writers ----------------------------------------------


def edit(form_id: str, change) -> bytes:
    """The published form with document.xml changed by `change(xml: str) -> str`."""
    source = zipfile.ZipFile(LEGACY / f"{form_id}.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = change(data.decode("utf-8")).encode("utf-8")
            target.writestr(item, data)
    return out.getvalue()


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def w14_box(checked: bool) -> str:
    return (
        '<w:sdt><w:sdtPr><w14:checkbox xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml">'
        f'<w14:checked w14:val="{int(checked)}"/></w14:checkbox></w:sdtPr>'
        f"<w:sdtContent>{run('☒' if checked else '☐')}</w:sdtContent></w:sdt>"
    )


def form_checkbox(checked: bool) -> str:
    state = "<w:checked/>" if checked else '<w:checked w:val="0"/>'
    return (
        f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/><w:enabled/>'
        f"<w:checkBox><w:sizeAuto/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>"
        '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def replace_cell_text(xml: str, old: str, new_runs: str) -> str:
    """Swap the run holding `old` for other runs (checkbox, content control, form field)."""
    pattern = re.compile(r"<w:r>(?:(?!</w:r>).)*?<w:t[^>]*>" + re.escape(old) + r"</w:t></w:r>", re.S)
    found = pattern.search(xml)
    assert found, old
    return xml[: found.start()] + new_runs + xml[found.end() :]


def nth_replace(xml: str, old: str, new: str, n: int) -> str:
    parts = xml.split(old)
    return old.join(parts[: n + 1]) + new + old.join(parts[n + 1 :])


def test_ticks_as_word_checkboxes_and_legacy_checkbox_fields():
    def change(xml):
        # The nature grid [☐ ☐ ☐ ☒ ☒ ☐ ☐]: referral ticked by a content control, effectiveness unticked by a field.
        xml = replace_cell_text(xml, "☒", form_checkbox(False))
        xml = replace_cell_text(xml, "☐", w14_box(True))
        # Stage line: Stage 5 as a legacy FORMCHECKBOX (checked), Stage 6 as a w14 content control.
        line = "Stage of escalation:  Stage 5 ☒   Stage 6 ☐"
        runs = run("Stage of escalation:  Stage 5 ") + form_checkbox(True) + run("   Stage 6 ") + w14_box(False)
        return replace_cell_text(xml, line, runs)

    _result, data, _errors = read("kirklees-appendix-5", edit("kirklees-appendix-5", change))
    assert data["stage"] == "5"
    assert data["nature"] == ["referral", "information-sharing"]


@pytest.mark.parametrize("mark", ["X", "x", "✓", "✔", "☑"])
def test_ticks_typed_as_letters_or_ticks(mark):
    _result, data, _ = read("kirklees-appendix-5", edit("kirklees-appendix-5", lambda x: x.replace("☒", mark)))
    assert data["nature"] == ["plan-effectiveness", "information-sharing"]
    assert data["stage"] == "5"


def test_content_controls_and_legacy_text_fields():
    def change(xml):
        sdt = f'<w:sdt><w:sdtPr><w:alias w:val="Role"/></w:sdtPr><w:sdtContent>{run("Head of Safeguarding")}</w:sdtContent></w:sdt>'
        xml = replace_cell_text(xml, "Designated Safeguarding Lead", sdt)
        formtext = (
            '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Text1"/><w:textInput/></w:ffData></w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            + run("Riverside Academy Trust")
            + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        )
        xml = replace_cell_text(xml, "Riverside Primary Academy", formtext)
        placeholder = (
            "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
            + run("Click or tap here to enter text.")
            + "</w:sdtContent></w:sdt>"
        )
        return replace_cell_text(xml, "Unresolved at service manager level.", placeholder)

    _result, data, _ = read("nt-appendix-a", edit("nt-appendix-a", change))
    assert data["role"] == "Head of Safeguarding"
    assert data["agency"] == "Riverside Academy Trust"
    assert data["outcome"] == ""  # a placeholder is not an answer


def test_extra_rows_typed_into_a_repeating_table():
    def change(xml):
        rows = re.findall(r"<w:tr[ >].*?</w:tr>", xml, re.S)
        last = rows[-1]
        extra = last.replace("Adult Mental Health Service", "West Yorkshire Police").replace(
            "Dr Kwame Mensah", "DC Ola Bello"
        )
        return xml.replace(last, last + extra + extra.replace("05/11/2026", "6 November 2026"))

    _, data, errors = read("kirklees-appendix-3", edit("kirklees-appendix-3", change))
    assert [r["agency"] for r in data["rows"]] == [
        "Greenfield High School",
        "Adult Mental Health Service",
        "West Yorkshire Police",
        "West Yorkshire Police",
    ]
    assert data["rows"][3]["meeting_date"] == "2026-11-06"
    assert not errors


def test_tracked_deletions_are_not_read_and_label_typed_with_value_in_one_cell():
    def change(xml):
        xml = xml.replace(
            run("Head of Service"),
            '<w:del w:id="1" w:author="A"><w:r><w:delText>Deputy Head</w:delText></w:r></w:del>'
            + run("Head of Service"),
            1,
        )
        return xml

    _, data, _ = read("kirklees-appendix-5", edit("kirklees-appendix-5", change))
    assert data["to_job_title"] == "Head of Service"


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        ("3/11/26", "2026-11-03"),
        ("3 November 2026", "2026-11-03"),
        ("03.11.2026", "2026-11-03"),
        ("3rd Nov 2026", "2026-11-03"),
    ],
)
def test_uk_dates(typed, iso):
    _, data, _ = read("kirklees-appendix-5", edit("kirklees-appendix-5", lambda x: x.replace("03/11/2026", typed)))
    assert data["date_initial"] == iso


def test_impossible_date_is_an_error_naming_the_field():
    _, _, errors = read(
        "kirklees-appendix-5", edit("kirklees-appendix-5", lambda x: x.replace("03/11/2026", "31/02/2026"))
    )
    assert "31/02/2026" in errors["date_initial"][0]


def unrelated_letter() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Dear Ms Example,")
    document.add_paragraph(
        "Thank you for your letter about the school trip on 3 November. Name: the trip to the coast."
    )
    document.add_paragraph("Yours sincerely, A. Teacher")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_an_unrelated_letter_is_not_a_recognised_form():
    result = parse(unrelated_letter(), "letter.docx")
    assert result.form_id is None
    assert result.reason.startswith("not a recognised form")


def test_an_odt_renamed_docx_says_what_it_is():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(ParseError, match="OpenDocument"):
        parse(out.getvalue(), "form.docx")


# --- copies re-saved by LibreOffice ---------------------------------------------------------------


def soffice_convert(sources: list[Path], target: str, out_dir: Path) -> list[Path]:
    """Convert with Debian's LibreOffice (its own profile, so it never meets a running one)."""
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (apt-get install libreoffice-writer-nogui) is not installed")
    profile = (out_dir / "profile").as_uri()
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation={profile}", "--convert-to", target, "--outdir", str(out_dir)]
        + [str(s) for s in sources],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return [out_dir / f"{s.stem}.{target.split(':')[0]}" for s in sources]


@pytest.fixture(scope="module")
def resaved(tmp_path_factory):
    out = tmp_path_factory.mktemp("libreoffice")
    sources = sorted(LEGACY.glob("*.docx"))
    return {p.stem: p for p in soffice_convert(sources, "docx:MS Word 2007 XML", out)}


@pytest.mark.slow
@pytest.mark.parametrize("form_id", ["nt-appendix-a", "kirklees-appendix-5", "kirklees-appendix-3"])
def test_forms_resaved_by_libreoffice(resaved, form_id):
    content = resaved[form_id].read_bytes()
    assert content != (LEGACY / f"{form_id}.docx").read_bytes()
    _, data, _ = read(form_id, content)
    want = expected_data()[form_id]
    assert {k: data[k] for k in want} == want
