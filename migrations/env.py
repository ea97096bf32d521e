"""Alembic environment: the models' metadata, and the app's database.

`service.db.upgrade(engine)` hands its engine over in `config.attributes`; run from the command
line (`alembic -c migrations/alembic.ini upgrade head`) it builds the app and uses its DATABASE_URL.

Downgrades never lose data silently: while a revision's downgrade() runs, dropping a table that
holds rows, or a column that holds values, or deleting the rows its module names in `DELETES`
((table, SQL condition, what they are in words), rows the older schema cannot hold), is refused
with the count, unless the operator forces it
(`alembic -c migrations/alembic.ini -x force-data-loss=yes downgrade -1`, after a backup). On
PostgreSQL the whole downgrade is one transaction, so a refusal leaves the database as it was.
docs/operations.md has the upgrade and rollback procedure.
"""

from __future__ import annotations

import contextlib
import os

from alembic import context
from alembic.operations import ops
from alembic.operations.base import AbstractOperations
from alembic.util import CommandError
from sqlalchemy import text

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


def _forced() -> bool:
    given = context.get_x_argument(as_dictionary=True).get("force-data-loss", "")
    # context.config, not this file's `config`: a wrapped downgrade() may outlive the run that wrapped it.
    given = given or context.config.attributes.get("force_data_loss", "")
    given = given or os.environ.get("ESCALATE_FORCE_DATA_LOSS", "")
    return str(given).lower() in ("yes", "1", "true")


def _rows(connection, table: str, column: str | None = None, where: str | None = None) -> int:
    where = f' WHERE "{column}" IS NOT NULL' if column else f" WHERE {where}" if where else ""
    return connection.execute(text(f'SELECT count(*) FROM "{table}"{where}')).scalar()  # noqa: S608


def _refuse(revision: str, what: str, rows: int) -> None:
    raise CommandError(
        f"refusing to downgrade {revision}: it would drop {what}, which holds {rows} row(s). Back up first "
        "(flask --app app backup FILE), then force it with `alembic -c migrations/alembic.ini -x "
        "force-data-loss=yes downgrade ...` if losing them is intended"
    )


@contextlib.contextmanager
def _dry_run(drops: list[tuple[str, str | None]]):
    """Every operation of a downgrade() recorded, none applied (SQLite would commit each DDL at once)."""
    original = AbstractOperations.invoke

    def invoke(self, operation):
        if isinstance(operation, ops.DropTableOp):
            drops.append((operation.table_name, None))
        elif isinstance(operation, ops.DropColumnOp):
            drops.append((operation.table_name, operation.column_name))

    AbstractOperations.invoke = invoke
    try:
        yield
    finally:
        AbstractOperations.invoke = original


def _guard_downgrades() -> None:
    """Wrap each revision's downgrade(): first a dry run listing what it drops, then a refusal if any
    of it holds data (unless forced), then the real run."""
    for script in context.script.walk_revisions():  # the runner's own modules, not a fresh load
        module = script.module
        if getattr(module, "_escalate_guarded", False):
            continue

        deletes = getattr(module, "DELETES", ())

        def downgrade(original=module.downgrade, revision=script.revision, deletes=deletes):
            if not _forced():
                drops: list[tuple[str, str | None]] = []
                with _dry_run(drops):
                    original()
                bind = context.get_bind()
                for table, where, what in deletes:
                    if rows := _rows(bind, table, where=where):
                        _refuse(revision, what, rows)
                for table, column in drops:
                    if rows := _rows(bind, table, column):
                        _refuse(revision, f"the column {table}.{column}" if column else f"the table {table}", rows)
            return original()

        module.downgrade, module._escalate_guarded = downgrade, True


def run_migrations_online() -> None:
    _guard_downgrades()
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch step rebuilds a table (copy, DROP, rename); with foreign keys on, the DROP deletes
            # every row referring to it (ON DELETE CASCADE): 1201 emptied the outbox, its downgrade the
            # submissions. Off for the run (a no-op inside a transaction, so first), on again after.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run against a database")
run_migrations_online()
