"""Structured logs: one JSON object per line on stderr, with no personal data.

What a line may carry is fixed here, not left to each call:
- `event`: the message. Our own calls pass a short event name ("request", "outbox.sent") and put
  the facts in `extra=` fields; only the keys in SAFE_FIELDS are written, so a name, an e-mail
  address, a form answer or a message body given by mistake is dropped, not logged. Messages of
  other libraries are kept (capped), with e-mail addresses masked and the request's path replaced
  by its URL rule, because paths carry draft and tracking tokens that open a case.
- Errors: the exception's type and where it was raised (file, line, function), never its message,
  which can quote SQL parameters or an input's text.
- One "request" line per request: method, URL rule (`/t/<tracking>`, never the token), endpoint,
  the view arguments that are identifiers (case reference, pack, form), status, duration, bytes
  and a request id (the proxy's X-Request-ID when it looks like one, else a new one; sent back in
  the response), never the query string (a search can hold a name).

`LOG_LEVEL` (INFO) and `LOG_FORMAT` (json, or text for reading at a terminal) come from the
environment or the app's config.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import sys
import time
import traceback

from flask import Flask, g, has_request_context, request

SAFE_FIELDS = frozenset(
    {
        "request_id",
        "method",
        "rule",
        "endpoint",
        "status",
        "duration_ms",
        "bytes",
        "reference",
        "case_id",
        "submission_id",
        "outbox_id",
        "message_id",
        "form_id",
        "pack_id",
        "partnership",
        "channel",
        "stage",
        "count",
        "sent",
        "failed",
        "claimed",
        "attempts",
        "worker",
        "limit",
        "kind",
        "ready",
        "reason",
    }
)
# View arguments that identify things without naming anyone; tokens (draft, tracking) are left out.
SAFE_VIEW_ARGS = ("reference", "pack_id", "form_id", "fmt", "submission_id", "case_id", "partnership", "section_key")
MAX_MESSAGE = 300
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Client addresses count as personal data too (a library's message may quote one).
ADDRESS = re.compile(
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*[0-9A-Fa-f]"
)
# A long random path segment (a draft, tracking or response token: 32 random bytes, URL-safe) in any
# message, whatever logged it; the request's own path is already replaced by its rule above.
TOKEN = re.compile(r"(/)[A-Za-z0-9_-]{32,}")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_MARK = "_escalate_json_handler"


def scrub(message: str) -> str:
    """A library's message, fit for the log: request path replaced by its rule, e-mails masked, capped."""
    if has_request_context() and request.url_rule is not None and len(request.path) > 1:
        message = message.replace(request.path, request.url_rule.rule)
    message = TOKEN.sub(r"\1[token]", message)
    message = ADDRESS.sub(_mask_address, EMAIL.sub("[e-mail]", message))
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"


def _mask_address(found: re.Match) -> str:
    # The server's own loopback or wildcard address (" * Running on http://127.0.0.1:5000") is nobody's.
    return found.group(0) if found.group(0) in ("127.0.0.1", "0.0.0.0", "::1") else "[address]"  # noqa: S104


def _where(exc_info) -> list[str]:
    frames = traceback.extract_tb(exc_info[2])[-6:]
    return [f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in frames]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": scrub(record.getMessage()),
        }
        for key in SAFE_FIELDS:
            value = record.__dict__.get(key)
            if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200):
                out[key] = value
        if "request_id" not in out and has_request_context() and "request_id" in g:
            out["request_id"] = g.request_id
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__
            out["where"] = _where(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(JsonFormatter):
    """The same safe fields, as `level logger event key=value` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        out = json.loads(super().format(record))
        head = f"{out.pop('ts')} {out.pop('level'):<7} {out.pop('logger')}: {out.pop('event')}"
        return " ".join([head, *(f"{k}={v}" for k, v in sorted(out.items()))])


def configure(level: str = "INFO", fmt: str = "json") -> logging.Handler:
    """Put one JSON (or text) handler on the root logger; calling again only updates it."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    root.setLevel(level.upper())
    # The development server's own access line has the client address, full path and query: ours
    # replaces it. Its other lines (" * Running on http://127.0.0.1:5000") are kept.
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoAccessLines) for f in werkzeug.filters):
        werkzeug.addFilter(_NoAccessLines())
    return handler


class _NoAccessLines(logging.Filter):
    # The request line, coloured or not (werkzeug wraps it in ANSI codes on a terminal that takes them).
    ACCESS = re.compile(r'"(?:\x1b\[[0-9;]*m)?[A-Z]+ \S* HTTP/[0-9.]+')

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not self.ACCESS.search(record.getMessage())


log = logging.getLogger("escalate.request")


def _start() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.match(given) else secrets.token_hex(8)


def _length(response) -> int | None:
    """The body's size; for a streamed body only its declared Content-Length (None when it has none),
    since measuring it would read it all into memory."""
    if response.is_streamed:
        return response.content_length
    return response.calculate_content_length() or 0


def _finish(response):
    started = g.pop("request_started", None)
    if started is None:
        return response
    fields = {
        "request_id": g.get("request_id"),
        "method": request.method,
        "rule": request.url_rule.rule if request.url_rule is not None else "(no route)",
        "endpoint": request.endpoint or "",
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "bytes": _length(response),
    }
    for key in SAFE_VIEW_ARGS:
        value = (request.view_args or {}).get(key)
        if value is not None:
            fields[key] = str(value)[:64]
    response.headers.setdefault("X-Request-ID", fields["request_id"])
    quiet = request.endpoint in ("ops.healthz", "ops.readyz") and response.status_code == 200
    log.log(logging.DEBUG if quiet else logging.INFO, "request", extra=fields)
    return response


def init_app(app: Flask) -> None:
    from flask.logging import default_handler

    level = app.config.get("LOG_LEVEL") or os.environ.get("LOG_LEVEL", "INFO")
    fmt = app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT", "json")
    configure(level, fmt)
    app.logger.removeHandler(default_handler)  # Flask's own handler would print a second, plain line
    app.before_request(_start)
    app.after_request(_finish)
