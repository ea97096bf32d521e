"""Alembic environment: the models' metadata, and the app's database.

`service.db.upgrade(engine)` hands its engine over in `config.attributes`; run from the command
line (`alembic -c migrations/alembic.ini upgrade head`) it builds the app and uses its DATABASE_URL.
"""

from __future__ import annotations

from alembic import context

from service.casework.models import Base

config = context.config
target_metadata = Base.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from app import create_app
    from service import db

    return db.make_engine(db.database_url(create_app()))


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run against a database")
run_migrations_online()
