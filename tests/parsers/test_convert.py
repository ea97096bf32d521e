"""Old and other word-processor files (.doc, .odt, .rtf), made by LibreOffice from this service's
Word records as a person's office suite saves them, read back through the limited worker."""

from __future__ import annotations

import pytest

from forms import registry
from forms.schema import validate_data
from parsers import ParseError, parse
from parsers.sandbox import parse_safely
from service.documents.records import render
from tests.conftest import sample
from tests.parsers.test_docx import soffice_convert

FORM = "kirklees-appendix-5"


@pytest.fixture(scope="module")
def saved_as(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved-as")
    source = out / f"{FORM}.docx"
    source.write_bytes(render(registry().form(FORM), sample(FORM), "docx"))
    return {fmt: soffice_convert([source], fmt, out)[0].read_bytes() for fmt in ("doc", "odt", "rtf")}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["doc", "odt", "rtf"])
def test_an_old_or_other_format_is_converted_and_read(saved_as, fmt):
    content = saved_as[fmt]
    result = parse_safely(content, f"returned.{fmt}")
    assert result.form_id == FORM, result.reason
    assert result.kind == fmt and "converted to Word (.docx) with LibreOffice" in result.warnings[0]
    spec = registry().form(FORM)
    data, errors = result.canonical(spec)
    want = validate_data(spec, sample(FORM))
    assert not errors, errors
    assert {k: data[k] for k in ("child_name", "address", "stage", "nature", "actions")} == {
        k: want[k] for k in ("child_name", "address", "stage", "nature", "actions")
    }


def test_a_renamed_doc_is_still_converted(saved_as):
    assert parse(saved_as["doc"], "form.msg").form_id == FORM


def test_a_damaged_doc_is_refused_with_a_reason(saved_as):
    content = saved_as["rtf"][:40]
    with pytest.raises(ParseError, match=r"Rich Text document \(.rtf\) could not be opened|not a recognised form"):
        result = parse(content, "form.rtf")
        raise ParseError(result.reason)


# --- No macros: a document whose Basic macro runs when it is opened --------------------------------

_MODULE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n'
    '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">'
    "Sub WriteMarker\n  Dim n As Integer\n  n = FreeFile\n  Open &quot;{marker}&quot; For Output As #n\n"
    "  Print #n, &quot;the macro ran&quot;\n  Close #n\nEnd Sub</script:module>"
)
_LIBRARY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">\n'
    '<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" '
    'library:readonly="false" library:passwordprotected="false"><library:element library:name="Module1"/>'
    "</library:library>"
)
_LIBRARIES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd">\n'
    '<library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">'
    '<library:library library:name="Standard" library:link="false"/></library:libraries>'
)
# Bound to the document's "Open Document" event (OnLoad), as LibreOffice itself writes it.
_ON_LOAD = (
    '<office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" '
    'script:event-name="dom:load" xlink:type="simple" '
    'xlink:href="vnd.sun.star.script:Standard.Module1.WriteMarker?language=Basic&amp;location=document"/>'
    "</office:event-listeners></office:scripts>"
)


def with_macro(odt: bytes, marker) -> bytes:
    """The form as LibreOffice saved it (.odt) with a Basic macro, run when the document is opened,
    that writes `marker`: what a hostile or careless sender's document could carry."""
    import io
    import re
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(odt)), io.BytesIO()
    parts = ("Basic/Standard/Module1.xml", "Basic/Standard/script-lb.xml", "Basic/script-lc.xml")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as made:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "content.xml":
                text = re.sub(r"<office:scripts/>|<office:scripts>.*?</office:scripts>", "", data.decode(), flags=re.S)
                data = text.replace("<office:font-face-decls", _ON_LOAD + "<office:font-face-decls", 1).encode()
            elif info.filename == "META-INF/manifest.xml":
                entries = "".join(
                    f'<manifest:file-entry manifest:full-path="{p}" manifest:media-type="text/xml"/>' for p in parts
                )
                data = data.decode().replace("</manifest:manifest>", entries + "</manifest:manifest>").encode()
            made.writestr(info, data)
        for name, text in zip(parts, (_MODULE.format(marker=marker), _LIBRARY, _LIBRARIES), strict=True):
            made.writestr(name, text)
    assert _ON_LOAD in zipfile.ZipFile(out).read("content.xml").decode()  # bound to the event
    return out.getvalue()


def _opened(document, profile, marker, seconds: float) -> float | None:
    """Seconds until `marker` appeared while LibreOffice had the document open in this profile, or None.
    Opening it (not converting) is what runs a document's load macro where the profile allows it."""
    import os
    import shutil
    import signal
    import subprocess
    import time

    soffice = shutil.which("soffice")
    command = [soffice, "--headless", "--norestore", "--nolockcheck", f"-env:UserInstallation={profile.as_uri()}"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(profile.parent), "LANG": "C.UTF-8"}
    start = time.monotonic()
    process = subprocess.Popen(
        [*command, str(document)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        while time.monotonic() - start < seconds:
            if marker.exists():
                return time.monotonic() - start
            time.sleep(0.2)
        return None
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_a_document_macro_never_runs_while_it_is_converted(saved_as, tmp_path):
    from parsers import convert

    marker = tmp_path / "the-macro-ran.txt"
    document = tmp_path / "returned.odt"
    document.write_bytes(with_macro(saved_as["odt"], marker))

    # The probe: opened by LibreOffice with the conversion's own settings, the two macro ones turned
    # round (lowest security level, execution allowed), the document's macro runs. So it can fail.
    enabled = convert.SETTINGS.replace(
        '"MacroSecurityLevel" oor:op="fuse"><value>3<', '"MacroSecurityLevel" oor:op="fuse"><value>0<'
    ).replace(
        '"DisableMacrosExecution" oor:op="fuse"><value>true<', '"DisableMacrosExecution" oor:op="fuse"><value>false<'
    )
    assert enabled.count("<value>0<") == 1 and enabled.count("<value>false<") == 2  # OpenCL's stays false
    took = _opened(document, convert.make_profile(tmp_path / "macros-allowed", enabled), marker, 90)
    assert took is not None, "the probe document's macro did not run even with macros allowed"
    marker.unlink()

    # The conversion's own settings: opened the same way, the macro does not run (given three times
    # as long as it took to run above).
    assert _opened(document, convert.make_profile(tmp_path / "macros-off"), marker, max(15, 3 * took)) is None

    # And the real path: read through the limited worker, converted, read as the form, no macro run.
    result = parse_safely(document.read_bytes(), "returned.odt")
    assert result.form_id == FORM, result.reason
    assert not marker.exists()
