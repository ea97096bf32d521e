"""Outlook .msg e-mails: the form attached, answers pasted in, threading headers kept.

No library writes .msg files, so `outlook_msg` below writes one: a Compound File (MS-CFB,
version 3) holding the MAPI property streams of an e-mail (MS-OXMSG), as Outlook saves them.
extract-msg, which the service uses, reads it like any other .msg.
"""

from __future__ import annotations

import math
import struct

from forms import registry
from forms.schema import validate_data
from parsers import parse, sniff
from parsers.email import answers_text
from service.documents.records import render
from tests.conftest import sample

FREE, END, FAT_SECTOR = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
SECTOR, MINI, CUTOFF = 512, 64, 4096


class Node:
    def __init__(self, name: str, data: bytes | None = None, children: list | None = None):
        self.name, self.data, self.children = name, data, children or []
        self.id = 0
        self.start, self.size = END, 0

    @property
    def is_stream(self) -> bool:
        return self.data is not None


def _order(name: str):
    return (len(name), name.upper())


def _cfb(root: Node) -> bytes:
    """A version 3 compound file: small streams in the mini stream, others in 512-byte sectors."""
    nodes: list[Node] = []

    def number(node):
        node.id = len(nodes)
        nodes.append(node)
        for child in node.children:
            number(child)

    number(root)
    mini = bytearray()
    mini_fat: list[int] = []
    big: list[Node] = []
    for node in nodes:
        if node.is_stream and 0 < len(node.data) < CUTOFF:
            node.start, node.size = len(mini) // MINI, len(node.data)
            count = math.ceil(len(node.data) / MINI)
            mini_fat.extend([node.start + i + 1 for i in range(count - 1)] + [END])
            mini += node.data + b"\0" * (count * MINI - len(node.data))
        elif node.is_stream and node.data:
            big.append(node)
        elif node.is_stream:
            node.start, node.size = END, 0
    dir_sectors = math.ceil(len(nodes) * 128 / SECTOR)
    minifat_sectors = math.ceil(len(mini_fat) * 4 / SECTOR)
    mini_sectors = math.ceil(len(mini) / SECTOR)
    big_sectors = [math.ceil(len(n.data) / SECTOR) for n in big]
    others = dir_sectors + minifat_sectors + mini_sectors + sum(big_sectors)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + others:
        fat_sectors += 1
    assert fat_sectors <= 109
    fat: list[int] = [FAT_SECTOR] * fat_sectors
    sectors: list[bytes] = []

    def chain(count: int) -> int:
        first = len(fat)
        fat.extend([first + i + 1 for i in range(count - 1)] + [END])
        return first

    dir_start = chain(dir_sectors)
    minifat_start = chain(minifat_sectors) if minifat_sectors else END
    mini_start = chain(mini_sectors) if mini_sectors else END
    for node, count in zip(big, big_sectors, strict=True):
        node.start, node.size = chain(count), len(node.data)
    root.start, root.size = mini_start, len(mini)

    def tree(siblings: list[Node]) -> int:
        if not siblings:
            return FREE
        siblings = sorted(siblings, key=lambda n: _order(n.name))
        mid = len(siblings) // 2
        node = siblings[mid]
        node.left, node.right = tree(siblings[:mid]), tree(siblings[mid + 1 :])
        return node.id

    root.left = root.right = FREE
    for node in nodes:
        node.child = tree(node.children) if not node.is_stream else FREE
    directory = bytearray()
    for node in nodes:
        name = node.name.encode("utf-16-le")
        kind = 5 if node is root else (2 if node.is_stream else 1)
        directory += name + b"\0" * (64 - len(name))
        directory += struct.pack("<HBB3I", len(name) + 2, kind, 1, node.left, node.right, node.child)
        directory += b"\0" * 16 + struct.pack("<I", 0) + b"\0" * 16
        directory += struct.pack("<IQ", node.start if (node.is_stream or node is root) else 0, node.size)
    directory += (b"\0" * 64 + struct.pack("<HBB3I", 0, 0, 0, FREE, FREE, FREE) + b"\0" * 48) * (
        dir_sectors * 4 - len(nodes)
    )
    body = bytearray()
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat) + struct.pack("<I", FREE) * (fat_sectors * 128 - len(fat))
    body += fat_bytes + directory
    body += struct.pack(f"<{len(mini_fat)}I", *mini_fat) + struct.pack("<I", FREE) * (
        minifat_sectors * 128 - len(mini_fat)
    )
    body += mini + b"\0" * (mini_sectors * SECTOR - len(mini))
    for node, count in zip(big, big_sectors, strict=True):
        body += node.data + b"\0" * (count * SECTOR - len(node.data))
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
    header += struct.pack("<IIIIIIIII", 0, fat_sectors, dir_start, 0, CUTOFF, minifat_start, minifat_sectors, END, 0)
    header += struct.pack("<109I", *difat)
    del sectors
    return bytes(header + body)


def _props(header: bytes, props: list[tuple[int, int, bytes | int]]) -> tuple[Node, list[Node]]:
    """The property stream and the value streams for (id, type, value) properties."""
    entries, streams = bytearray(header), []
    for prop_id, prop_type, value in props:
        tag = (prop_id << 16) | prop_type
        if prop_type == 0x0003:
            entries += struct.pack("<IIiI", tag, 6, value, 0)
            continue
        data = value.encode("utf-16-le") if prop_type == 0x001F else value
        size = len(data) + (2 if prop_type == 0x001F else 0)
        entries += struct.pack("<IIII", tag, 6, size, 0)
        streams.append(Node(f"__substg1.0_{tag:08X}", data))
    return Node("__properties_version1.0", bytes(entries)), streams


def outlook_msg(*, subject: str, sender: str, body: str, headers: str, attachment: tuple[str, bytes] | None) -> bytes:
    message_props = [
        (0x001A, 0x001F, "IPM.Note"),
        (0x0037, 0x001F, subject),
        (0x1000, 0x001F, body),
        (0x0C1A, 0x001F, "Amira Haddad"),
        (0x0C1F, 0x001F, sender),
        (0x0065, 0x001F, sender),
        (0x007D, 0x001F, headers),
    ]
    children: list[Node] = []
    recipient_props, recipient_streams = _props(
        b"\0" * 8,
        [(0x3001, 0x001F, "Escalations"), (0x39FE, 0x001F, "escalations@escalate.example"), (0x0C15, 0x0003, 1)],
    )
    children.append(Node("__recip_version1.0_#00000000", children=[recipient_props, *recipient_streams]))
    attachments = 0
    if attachment:
        name, content = attachment
        props, streams = _props(
            b"\0" * 8,
            [(0x3705, 0x0003, 1), (0x3707, 0x001F, name), (0x3704, 0x001F, name[:12]), (0x3701, 0x0102, content)],
        )
        children.append(Node("__attach_version1.0_#00000000", children=[props, *streams]))
        attachments = 1
    header = struct.pack("<8xIIII8x", 1, attachments, 1, attachments)
    props, streams = _props(header, message_props)
    named = Node(
        "__nameid_version1.0",
        children=[
            Node("__substg1.0_00020102", b""),
            Node("__substg1.0_00030102", b""),
            Node("__substg1.0_00040102", b""),
        ],
    )
    return _cfb(Node("Root Entry", children=[props, *streams, *children, named]))


HEADERS = (
    "From: Amira Haddad <amira.haddad@health.example>\r\nTo: escalations@escalate.example\r\n"
    "Subject: RE: [KL-2026-0003] Escalation record\r\nMessage-ID: <msg1@health.example>\r\n"
    "In-Reply-To: <abc.KL-2026-0003@escalate.example>\r\n\r\n"
)


def test_msg_with_the_form_attached():
    spec = registry().form("kirklees-appendix-5")
    want = validate_data(spec, sample("kirklees-appendix-5"))
    content = outlook_msg(
        subject="RE: [KL-2026-0003] Escalation record",
        sender="amira.haddad@health.example",
        body="Please find our record attached.",
        headers=HEADERS,
        attachment=("appendix-5.docx", render(spec, want, "docx")),
    )
    assert sniff(content, "reply.msg") == "msg"
    result = parse(content, "reply.msg")
    assert result.form_id == "kirklees-appendix-5", result.reason
    assert result.canonical(spec) == (want, {})
    assert result.reference == "KL-2026-0003"
    assert result.email["from"] == "amira.haddad@health.example"
    assert result.email["in_reply_to"] == "<abc.KL-2026-0003@escalate.example>"


def test_msg_with_the_answers_in_the_body():
    spec = registry().form("nt-appendix-a")
    want = validate_data(spec, sample("nt-appendix-a"))
    content = outlook_msg(
        subject="Appendix A",
        sender="zoe.nowak@riverside.example",
        body=answers_text(spec, want),
        headers=HEADERS.replace("KL-2026-0003", "NT-2026-0001"),
        attachment=None,
    )
    result = parse(content, "answers.msg")
    assert result.form_id == "nt-appendix-a", result.reason
    assert result.canonical(spec) == (want, {})


def test_automatic_reply_saved_as_msg():
    content = outlook_msg(
        subject="Automatic reply: Escalation",
        sender="away@school.example",
        body="I am out of the office.",
        headers="Auto-Submitted: auto-replied\r\nSubject: Automatic reply: Escalation\r\n\r\n",
        attachment=None,
    )
    result = parse(content, "auto.msg")
    assert result.form_id is None and "automatic reply" in result.reason
