"""The contact directory: sample seed, CSV export and import, every bad row listed, nothing half-imported."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from service.casework import directory
from service.casework.models import Contact


def total(session) -> int:
    return session.scalar(select(func.count()).select_from(Contact))


def test_seed_has_the_policies_contacts_and_is_idempotent(db_session):
    count = total(db_session)
    assert count > 20
    assert directory.seed(db_session) == 0
    assert total(db_session) == count
    merton = {c.sector: c for c in directory.contacts(db_session, "merton", "appendix-b-contact") if c.agency is None}
    assert merton["childrens-social-care"].phone == "0208 545 3211"
    assert merton["health"].phone == "0203 668 1848"
    assert merton["police"].phone == "020 8649 3046"
    assert len(directory.contacts(db_session, "gloucestershire", "resolution-group")) == 5
    assert directory.contacts(db_session, "kirklees", "cp-review-unit")
    assert directory.contacts(db_session, "north-tyneside", "business-manager")
    assert directory.contacts(db_session, "sscp", "independent-chair")
    emails = db_session.scalars(select(Contact.email).where(Contact.email.is_not(None))).all()
    assert emails and all(e.endswith(".example") for e in emails)  # never a real address


def test_export_then_import_round_trips(db_session):
    exported = directory.export_csv(db_session)
    before = total(db_session)
    result = directory.import_csv(db_session, exported.encode("utf-8"))
    assert result.count == before and len(result.partnerships) == 5
    assert directory.export_csv(db_session) == exported


def test_import_replaces_only_the_partnerships_in_the_file(db_session):
    nt = directory.export_csv(db_session, "north-tyneside")
    others = total(db_session) - 1
    changed = nt.replace("business.manager@ntscp.example", "new.manager@ntscp.example")
    directory.import_csv(db_session, changed, partnership="north-tyneside")
    assert [c.email for c in directory.contacts(db_session, "north-tyneside", "business-manager")] == [
        "new.manager@ntscp.example"
    ]
    assert total(db_session) == others + 1


def test_a_contact_named_again_keeps_their_place_so_waiting_mail_follows_the_new_address(db_session):
    from service.casework.mail import recipient
    from service.casework.models import OutboxMessage

    member, leaving = directory.contacts(db_session, "gloucestershire", "resolution-group")[:2]
    name, address = member.name, member.email
    waiting = OutboxMessage(contact_id=member.id, to_name=name, to_email=address)  # the copy kept on it
    lines = directory.export_csv(db_session, "gloucestershire").splitlines()
    kept = "\n".join(line for line in lines if leaving.email not in line)
    changed = kept.replace(address, "new.member@gscp.example")
    before = total(db_session)
    result = directory.import_csv(db_session, changed, partnership="gloucestershire")
    assert (result.kept, result.added, result.removed) == (result.count, 0, 1)
    assert (
        directory.import_words(result)
        == f"{result.count} kept (their details as the file gives them), 0 added, 1 removed"
    )
    assert total(db_session) == before - 1 and db_session.get(Contact, leaving.id) is None
    assert db_session.get(Contact, member.id).email == "new.member@gscp.example"  # the same contact
    assert recipient(db_session, waiting) == (name, "new.member@gscp.example")
    someone_else = changed.replace(name, "Another Person").replace("new.member@", "another@")
    result = directory.import_csv(db_session, someone_else, partnership="gloucestershire")
    assert (result.added, result.removed) == (1, 1)  # someone else in that place: a new contact
    assert recipient(db_session, waiting) == (name, address)  # gone: the copy kept on the message


BAD = """partnership,role,agency,sector,stage,name,title,email,phone,source
north-tyneside,business-manager,,,,Business Manager,,bm@ntscp.example,,ok row
atlantis,business-manager,,,,Someone,,a@atlantis.example,,
north-tyneside,wizard,,,,Someone,,w@ntscp.example,,
merton,appendix-b-contact,,schools,,Someone,,s@mscb.example,,
kirklees,safeguarding-lead,Some School,,9,Someone,,s@kscp.example,,
sscp,independent-chair,,,,,,chair@sscp.example,,
sscp,independent-chair,,,,Chair,,not-an-email,,
sscp,independent-chair,,,,Chair,,,,
gloucestershire,resolution-group,,,,Member,,m@gscp.example,call me,
"""


def test_every_bad_row_is_listed_by_number_and_nothing_is_imported(db_session):
    before = directory.export_csv(db_session)
    with pytest.raises(directory.DirectoryError) as caught:
        directory.import_csv(db_session, BAD)
    errors = dict(caught.value.errors)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10]  # row 1 is the header; row 2 is good
    assert "unknown partnership 'atlantis'" in errors[3]
    assert "no role 'wizard'" in errors[4]
    assert "no sector 'schools'" in errors[5]
    assert "no stage '9'" in errors[6]
    assert errors[7].startswith("name:")
    assert "email" in errors[8]
    assert "give an email or a phone number" in errors[9]
    assert "phone" in errors[10]
    assert "row 3:" in str(caught.value)
    assert directory.export_csv(db_session) == before


def test_wrong_header_extra_cells_and_other_partnerships_are_refused(db_session):
    before = directory.export_csv(db_session)
    with pytest.raises(directory.DirectoryError, match=r"row 1: missing columns \['phone'\]"):
        directory.import_csv(db_session, "partnership,role,agency,sector,stage,name,title,email,source\n")
    with pytest.raises(directory.DirectoryError, match="row 2: more cells than columns"):
        directory.import_csv(db_session, BAD.splitlines()[0] + "\n" + BAD.splitlines()[1] + ",extra\n")
    with pytest.raises(directory.DirectoryError, match="in a directory for 'merton'"):
        directory.import_csv(db_session, BAD.splitlines()[0] + "\n" + BAD.splitlines()[1] + "\n", partnership="merton")
    with pytest.raises(directory.DirectoryError, match="no contacts"):
        directory.import_csv(db_session, BAD.splitlines()[0] + "\n")
    with pytest.raises(directory.DirectoryError, match="not UTF-8"):
        directory.import_csv(db_session, b"\xff\xfe\x00bad")
    assert directory.export_csv(db_session) == before


def test_cli_export_and_import(db_app, tmp_path):
    runner = db_app.test_cli_runner()
    out = tmp_path / "directory.csv"
    result = runner.invoke(args=["directory", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {r["partnership"] for r in rows} == {"gloucestershire", "kirklees", "merton", "north-tyneside", "sscp"}
    result = runner.invoke(args=["directory", "import", str(out)])
    assert result.exit_code == 0 and f"imported {len(rows)} contacts" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    result = runner.invoke(args=["directory", "import", str(bad)])
    assert result.exit_code == 2
    assert "row 3: partnership: unknown partnership 'atlantis'" in result.output


def test_export_guards_cells_a_spreadsheet_would_run_as_formulas(db_session):
    text = (
        BAD.splitlines()[0]
        + "\n"
        + "north-tyneside,business-manager,,,,=HYPERLINK(1),@SUM(1),bm@ntscp.example,+44 20 0000 0000,\n"
    )
    directory.import_csv(db_session, text, partnership="north-tyneside")
    exported = directory.export_csv(db_session, "north-tyneside")
    assert ",'=HYPERLINK(1),'@SUM(1),bm@ntscp.example,'+44 20 0000 0000," in exported
    directory.import_csv(db_session, exported, partnership="north-tyneside")
    [contact] = directory.contacts(db_session, "north-tyneside", "business-manager")
    assert (contact.name, contact.title, contact.phone) == ("=HYPERLINK(1)", "@SUM(1)", "+44 20 0000 0000")


def test_imported_names_go_through_the_normaliser_on_one_line():
    """A name with a line break or a bell is kept on one line without them (it goes into e-mail headers);
    a lone surrogate is refused with a reason, naming the row."""
    header = "partnership,role,agency,sector,stage,name,title,email,phone,source\n"
    good = 'merton,independent-chair,,,,"Jo\r\nBcc: x@elsewhere.example\x07 Smith",,jo@merton.example,,\n'
    [row] = directory.parse_csv(header + good)
    assert row["name"] == "Jo Bcc: x@elsewhere.example Smith"
    with pytest.raises(directory.DirectoryError) as refused:
        directory.parse_csv(header + "merton,independent-chair,,,,Jo \ud800,,jo@merton.example,,\n")
    assert "half of a UTF-16 pair" in str(refused.value)
