"""Is an e-mail from the address its From: line gives? The verdict a reply must pass to be believed.

Anyone can write any address on a From: line, so a reply counts only when the message passed DMARC:
a DKIM signature or an SPF check for a domain aligned with the From: address.

- With `TRUSTED_AUTHSERV_ID` set (the organisation's own receiving server, e.g. the mail gateway in
  front of the shared mailbox), the verdict is read from the topmost `Authentication-Results` header
  that server added (RFC 8601, parsed with authres). Headers naming any other server are ignored:
  a sender can write one claiming anything. Where mail can arrive through more than one of the
  organisation's servers, the setting lists them all, comma-separated; the topmost header any of them
  added is read, so each must remove headers claiming any of those names from the mail it receives
  (RFC 8601 §5). Exchange Online writes its header without a server name:
  `TRUSTED_AUTHSERV_ID=microsoft-365` (alone) reads the topmost header only, which Exchange Online
  adds above anything the sender wrote.
- Without it (the built-in SMTP receiver takes mail straight from the sender's server), the DKIM
  signatures are verified here with dkimpy, looking the keys up in DNS (`DKIM_DNS_SERVERS`, e.g.
  "127.0.0.1:5353", names the resolvers; the system's otherwise). SPF cannot be checked here: the
  connecting address is the relay's.

Alignment is relaxed (RFC 7489 §3.1): the signing or envelope domain is the From: domain, or one is a
subdomain of the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from service.ops.settings import listed

# What a person reads beside each e-mail on the case timeline.
PASSED = "pass"
FAILED = "fail"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    detail: str  # in plain words, e.g. "DMARC passed at mx.council.example"

    @property
    def status(self) -> str:
        return PASSED if self.passed else FAILED


@dataclass(frozen=True)
class Settings:
    authserv_ids: tuple[str, ...] = ()
    dns_servers: tuple[str, ...] = ()

    @classmethod
    def current(cls) -> Settings:
        """From the app's config when there is an app, else from the environment."""
        try:
            from flask import current_app

            config = current_app.config
            get = lambda name: config.get(name) or os.environ.get(name)  # noqa: E731
        except RuntimeError:
            get = os.environ.get
        ids, servers = listed(get("TRUSTED_AUTHSERV_ID")), listed(get("DKIM_DNS_SERVERS"))
        return cls(authserv_ids=tuple(ids), dns_servers=tuple(servers))


def from_addresses(raw: bytes) -> list[str]:
    """Every address on every From: line, lower case (more than one is not a single sender)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    values = [str(v) for v in headers.get_all("From") or []]
    return [address.lower() for _, address in getaddresses(values) if address]


def check(raw: bytes, settings: Settings | None = None, *, sender: str | None = None) -> Verdict:
    """The verdict for one raw e-mail, as received. `sender` is the address the reader took from it
    (the one matched against the case's parties): it passes only when it is the From: line's one
    address as written, so a decoded look-alike (an encoded word hiding an address) is never the
    address a domain's pass is credited to."""
    settings = settings or Settings.current()
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return Verdict(False, "an Outlook .msg file keeps no proof of who sent it")
    senders = from_addresses(raw)
    if len(senders) != 1 or "@" not in senders[0]:
        return Verdict(False, f"the From: line gives {len(senders)} addresses, not one sender")
    if sender is not None and senders[0] != sender.strip().lower():
        return Verdict(False, "the From: line does not give one plain address (its text reads otherwise decoded)")
    domain = senders[0].rsplit("@", 1)[1]
    if settings.authserv_ids:
        return _from_receiving_server(raw, settings.authserv_ids, domain)
    return _dkim(raw, domain, settings.dns_servers)


def aligned(domain: str | None, from_domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    if not domain:
        return False
    domain, from_domain = domain.strip().lower().rstrip("."), from_domain.lower()
    if "." not in domain:
        return False
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


MICROSOFT_365 = "microsoft-365"


def _from_receiving_server(raw: bytes, authserv_ids: tuple[str, ...], from_domain: str) -> Verdict:
    import authres

    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    found = headers.get_all("Authentication-Results") or []
    trusted = {name.lower(): name for name in authserv_ids}
    if MICROSOFT_365 in trusted:  # alone: settings.check refuses it beside other names
        return _from_exchange_online(found[:1], from_domain)
    for value in found:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(str(value).split()))
        except authres.AuthResError:
            continue
        server = trusted.get((parsed.authserv_id or "").lower())
        if server is None:
            continue  # another server's claim (or the sender's own): not ours to believe
        return _judge(parsed.results, from_domain, server)
    named = " or ".join(authserv_ids)
    return Verdict(False, f"no Authentication-Results from {named}, the receiving server")


def _from_exchange_online(topmost: list, from_domain: str) -> Verdict:
    """Exchange Online's header names no server ("spf=pass ...; dkim=...; dmarc=pass ..."): only the
    topmost one is its own."""
    import authres

    server = "Microsoft 365"
    value = " ".join(str(topmost[0]).split()) if topmost else ""
    if not value or "=" not in value.split(";", 1)[0]:
        return Verdict(False, f"no Authentication-Results from {server} on top of the message")
    try:
        parsed = authres.AuthenticationResultsHeader.parse_value(f"{MICROSOFT_365}; {value}")
    except authres.AuthResError:
        return Verdict(False, f"the Authentication-Results from {server} could not be read")
    return _judge(parsed.results, from_domain, server)


def _judge(results, from_domain: str, server: str) -> Verdict:
    def prop(result, name):
        return next((p.value for p in result.properties if f"{p.type}.{p.name}" == name), None)

    for result in results:
        if result.method == "dmarc":
            header_from = prop(result, "header.from")
            if result.result == "pass" and (header_from is None or header_from.lower() == from_domain):
                return Verdict(True, f"DMARC passed at {server}")
            return Verdict(False, f"DMARC {result.result} at {server}")
    for result in results:
        if result.method == "dkim" and result.result == "pass" and aligned(prop(result, "header.d"), from_domain):
            return Verdict(True, f"DKIM signature of {prop(result, 'header.d')} verified at {server}")
        if result.method == "spf" and result.result == "pass":
            mailfrom = prop(result, "smtp.mailfrom") or ""
            if aligned(mailfrom.rsplit("@", 1)[-1], from_domain):
                return Verdict(True, f"SPF passed for {from_domain} at {server}")
    return Verdict(False, f"neither DKIM nor SPF passed for {from_domain} at {server}")


def _dnsfunc(servers: tuple[str, ...]):
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        # "host" or "host:port" (one port for all: dnspython's resolver has one); IPv6 without a port.
        hosts = [s.rsplit(":", 1)[0] if s.count(":") == 1 else s for s in servers]
        ports = [int(s.rsplit(":", 1)[1]) for s in servers if s.count(":") == 1]
        resolver.nameservers = hosts
        resolver.port = ports[0] if ports else 53

    def get_txt(name: bytes, timeout: float = 5):
        try:
            answer = resolver.resolve(name.decode("ascii").rstrip("."), "TXT", lifetime=timeout)
        except (dns.exception.DNSException, UnicodeDecodeError):
            return None
        for record in answer:
            return b"".join(record.strings)
        return None

    return get_txt


MAX_DKIM_CHECKS = 3  # key look-ups (5 s each at worst) per message: a bounded time in the worker
MAX_NAMED = 5  # signing domains named in the verdict (a person reads it); the rest are counted


def _dkim(raw: bytes, from_domain: str, servers: tuple[str, ...]) -> Verdict:
    import dkim

    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    signatures = headers.get_all("DKIM-Signature") or []
    if not signatures:
        return Verdict(False, "not signed (no DKIM signature), and no receiving server vouched for it")
    dnsfunc = _dnsfunc(servers)
    seen = []
    checker = None  # parsed once, and only if a signature could count
    tried = 0
    for index, value in enumerate(signatures):
        try:
            tags = dkim.util.parse_tag_value(" ".join(str(value).split()).encode())
            domain = tags.get(b"d", b"").decode("ascii", "replace")
        except (dkim.util.InvalidTagValueList, ValueError):
            continue
        # A signature by another domain could never make the sender authentic: not looked up, so a
        # message with many signatures costs no more than the few that could count.
        if not aligned(domain, from_domain):
            seen.append(f"{_shown(domain)} (not the sender)")
            continue
        if tried == MAX_DKIM_CHECKS:
            seen.append(f"{_shown(domain)} (not checked: more than {MAX_DKIM_CHECKS} signatures for the sender)")
            break
        tried += 1
        try:
            checker = checker or dkim.DKIM(raw, timeout=5)
            good = checker.verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException:
            good = False
        if good:
            return Verdict(True, f"DKIM signature of {domain} verified")
        seen.append(f"{_shown(domain)} (did not verify)")
    return Verdict(False, "no DKIM signature for the sender's domain verified: " + _listed(seen))


def _shown(domain: str) -> str:
    """A signature's domain as a person may read it: whatever its sender wrote, so kept to a domain
    name's length (253) and printable characters."""
    return "".join(c for c in domain[:253] if c.isprintable())


def _listed(seen: list[str]) -> str:
    """The signatures seen, each once, the first MAX_NAMED by name (a message may carry thousands)."""
    named = list(dict.fromkeys(seen))
    more = len(named) - MAX_NAMED
    return ", ".join(named[:MAX_NAMED] or ["unreadable"]) + (f" and {more} more" if more > 0 else "")


__all__ = ["Settings", "Verdict", "aligned", "check", "from_addresses"]
