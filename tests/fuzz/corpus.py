"""Seed inputs for fuzzing, and the mutations applied to them.

Seeds are real inputs of every kind the parsers take: DOCX and PDF records rendered from each form's
sample (blank and completed), the partnerships' own Word forms from shared/samples/legacy-forms/
when present, and e-mails built the ways agencies send them (answers pasted in the body, the form
attached as DOCX or PDF, a forwarded message, HTML only). Mutations work at the level where a
parser would otherwise only ever see a broken container: inside the DOCX zip on its XML members,
on PDF bytes, on e-mail lines and headers.
"""

from __future__ import annotations

import email
import functools
import io
import random
import zipfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

from forms import registry
from service.documents import records as documents
from tests.conftest import sample

LEGACY = Path(__file__).resolve().parents[3] / "shared" / "samples" / "legacy-forms"
FORMS = ("nt-appendix-a", "kirklees-appendix-5", "kirklees-appendix-3", "merton-disagreement-record")
INTERESTING = (
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"<",
    b"&amp;",
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
    b"]]>",
    b"%%EOF",
    b"obj\n<< /Type /Page /Parent 1 0 R >>\nendobj\n",
    b"/Length 999999999",
    b"9999999999 0 R",
    b"\r\n\r\n",
    b'Content-Type: multipart/mixed; boundary="x"\r\n',
    b"--x--\r\n",
    b"=?utf-8?b?////?=",
    b"Content-Transfer-Encoding: base64\r\n\r\n%%%%",
    "☒ ✓ \u202e\u0645\u0631\u062d\u0628\u0627".encode(),
)


@functools.cache
def seeds() -> dict[str, list[tuple[str, bytes]]]:
    """{"docx": [(filename, bytes)...], "pdf": [...], "email": [...], "office": [...], "image": [...]}."""
    reg = registry()
    out: dict[str, list[tuple[str, bytes]]] = {"docx": [], "pdf": [], "email": []}
    for form_id in FORMS:
        spec = reg.form(form_id)
        for fmt in ("docx", "pdf"):
            out[fmt].append((f"{form_id}.{fmt}", documents.render(spec, sample(form_id), fmt)))
        out["pdf"].append((f"{form_id}-blank.pdf", documents.render(spec, None, "pdf")))
    if LEGACY.is_dir():
        out["docx"].extend((p.name, p.read_bytes()) for p in sorted(LEGACY.glob("*.docx")))
    out["email"] = _emails(reg)
    from tests.fuzz.public_kinds import public_seeds  # the public test suites' kinds (issue 16)

    for kind, made in public_seeds().items():
        out.setdefault(kind, []).extend(made)
    return out


def _pasted(spec, data) -> str:
    lines = []
    for field in spec.fields:
        value = data.get(field.key)
        if isinstance(value, str) and value:
            lines.append(f"{field.label}: {value}")
    return "\n".join(lines)


def _emails(reg) -> list[tuple[str, bytes]]:
    spec = reg.form("nt-appendix-a")
    data = sample(spec.id)
    made = []

    def base(subject: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = "Practitioner <practitioner@agency.example>"
        message["To"] = "escalations@ntscp.example"
        message["Subject"] = subject
        message["Message-ID"] = "<fuzz-seed@agency.example>"
        message["Date"] = "Mon, 23 Nov 2026 10:00:00 +0000"
        return message

    pasted = base(f"{spec.title}")
    pasted.set_content(_pasted(spec, data))
    made.append(("pasted.eml", pasted.as_bytes()))
    for fmt in ("docx", "pdf"):
        attached = base(f"Re: [NT-2026-0007] {spec.short_title}")
        attached["In-Reply-To"] = "<NT-2026-0007.1@escalate.example>"
        attached.set_content("Please find the form attached.")
        maintype, subtype = documents.FORMATS[fmt].split("/", 1)
        content = documents.render(spec, data, fmt)
        attached.add_attachment(content, maintype=maintype, subtype=subtype, filename=f"form.{fmt}")
        made.append((f"attached-{fmt}.eml", attached.as_bytes()))
    forwarded = base("Fwd: escalation")
    forwarded.set_content("Forwarding this on.")
    forwarded.add_attachment(email.message_from_bytes(made[1][1], policy=policy.default))
    made.append(("forwarded.eml", forwarded.as_bytes()))
    html = base("Escalation")
    html.set_content(f"<html><body><p>{_pasted(spec, data).replace(chr(10), '<br>')}</p></body></html>", subtype="html")
    made.append(("html.eml", html.as_bytes()))
    return made


# --- mutations ---------------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """Flip, insert, delete, duplicate, truncate or splice in interesting tokens, `rounds` times."""
    buf = bytearray(data)
    for _ in range(rounds):
        if not buf:
            buf.extend(rng.choice(INTERESTING))
            continue
        at = rng.randrange(len(buf))
        op = rng.randrange(6)
        if op == 0:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[at:at] = rng.choice(INTERESTING) * rng.choice((1, 1, 2, 64))
        elif op == 2:
            del buf[at : at + rng.randint(1, 256)]
        elif op == 3:
            end = min(len(buf), at + rng.randint(1, 512))
            buf[at:at] = buf[at:end] * rng.randint(1, 4)
        elif op == 4:
            del buf[max(1, at) :]
        else:
            buf[at : at + 1] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


def mutate_docx(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """Mutate one member of the zip (mostly word/document.xml) and zip it again; sometimes the zip itself."""
    if rng.random() < 0.15:
        return mutate_bytes(data, rng, rounds)
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    names = [info.filename for info, _ in members]
    target = "word/document.xml" if rng.random() < 0.7 and "word/document.xml" in names else rng.choice(names)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as result:
        for info, content in members:
            if info.filename == target:
                content = mutate_bytes(content, rng, rounds)
            result.writestr(info.filename, content)
    return out.getvalue()


def mutate_email(data: bytes, rng: random.Random, rounds: int) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rounds):
        at = rng.randrange(len(lines))
        op = rng.randrange(4)
        if op == 0:
            del lines[at]
        elif op == 1:
            lines.insert(at, lines[rng.randrange(len(lines))])
        elif op == 2:
            lines[at] = mutate_bytes(lines[at], rng, 1)
        else:
            lines.insert(at, rng.choice(INTERESTING))
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


MUTATORS = {
    "docx": mutate_docx,
    "pdf": mutate_bytes,
    "email": mutate_email,
    "office": mutate_bytes,
    "image": mutate_bytes,
}


def mutated(kind: str, rng: random.Random) -> tuple[str, bytes]:
    name, data = rng.choice(seeds()[kind])
    return name, MUTATORS[kind](data, rng, rng.randint(1, 6))
