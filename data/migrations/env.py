"""Alembic environment: SQLModel metadata, batch mode on SQLite, one transaction per upgrade.

The connection comes from ``config.attributes["connection"]`` (set by data/schema.py's
``migration_connection``), already inside the one transaction (BEGIN emitted by the engine), so a failed
migration on SQLite rolls back whole instead of leaving an ``_alembic_tmp_*`` table behind (shared
notes/reliability.md §3), and with SQLite's foreign keys off, so a batch migration's DROP TABLE of a
parent table cannot cascade-delete its children's rows (checked by ``PRAGMA foreign_key_check`` before
the commit).
"""

from alembic import context
from bin_console.data import models  # noqa: F401  (registers the tables)
from bin_console.data.models import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` CLI use: build an engine from the ini URL
        from bin_console.data.engine import Database
        from bin_console.data.schema import migration_connection

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic.ini sets no sqlalchemy.url")
        db = Database.from_url(url)
        try:
            with migration_connection(db) as conn:  # foreign keys off on SQLite, as for `db upgrade`
                _run(conn)
        finally:
            db.dispose()
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; use `bin-console db upgrade`")
run_migrations_online()
