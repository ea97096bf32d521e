"""Child protection conference escalations: the chair's log, agency notifications and follow-up
(Kirklees Appendix 3; issue 7).

- models.py: conferences, one issue per agency (each also a case), and the agencies' responses.
- log.py: recording (a case per row, routed to the agency's lead copying the CPRU, the
  Appendix 3 notification queued with DOCX and PDF attached), the follow-up due date and chasers.
- responses.py: the private response link and reply e-mails threaded to their row.
- tables.py: returned Appendix 3 tables (DOCX, PDF, e-mail) read by the parsers into log rows.
- patterns.py: the log by agency, chair and quarter, patterns, dashboard charts, CSV and XLSX.
- views.py, access.py: the pages, for the workspace roles; cli.py: `flask --app app conference ...`.

log, responses, tables, patterns and pipeline are the domain (they may import casework, documents
and intake); views, access and cli are surfaces. `init_app(app)` registers the blueprint, the commands and the outbox attacher.
"""

from __future__ import annotations

from flask import Flask

from service.conference import models  # noqa: F401 - puts the conference tables on the metadata, for Alembic


def init_app(app: Flask) -> None:
    from service.casework import outbox
    from service.conference import cli, log, pipeline, views
    from service.intake import ingest

    if log.attach_notification not in outbox.ATTACHERS:
        outbox.ATTACHERS.append(log.attach_notification)
    if pipeline.handle not in ingest.HANDLERS:
        ingest.HANDLERS.append(pipeline.handle)
    app.register_blueprint(views.bp)
    cli.register(app)
    _add_to_navigation(app)


def _add_to_navigation(app: Flask) -> None:
    """ "Conference log" in the workspace navigation (after the inbox), for those who may read a log."""
    workspace_nav = app.jinja_env.globals.get("workspace_nav")
    if workspace_nav is None:
        return

    def navigation() -> list[dict]:
        from flask import request, url_for

        from service.conference import access

        items = workspace_nav()
        if access.partnerships("read"):
            active = (request.endpoint or "").startswith("conference.")
            items.insert(
                min(1, len(items)), {"href": url_for("conference.log_page"), "text": "Conference log", "active": active}
            )
        return items

    app.jinja_env.globals["workspace_nav"] = navigation
