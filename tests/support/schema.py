"""Tables made by create_all (faster than running every migration) carry the newest revision, as
`flask db-prepare` leaves a database: the long-running commands start only on a database prepared for
this version (service.db.unprepared), and these tables are this version's."""

from __future__ import annotations

from sqlalchemy import event


def _stamp(_metadata, connection, **_kw) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from service import db

    script = ScriptDirectory.from_config(db.alembic_config(connection.engine))
    MigrationContext.configure(connection).stamp(script, "head")


def stamp_what_create_all_makes() -> None:
    from service.casework.models import Base

    if not event.contains(Base.metadata, "after_create", _stamp):
        event.listen(Base.metadata, "after_create", _stamp)
