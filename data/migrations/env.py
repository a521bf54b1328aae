"""Alembic environment: SQLModel metadata, batch mode on SQLite, one transaction per upgrade.

The connection comes from ``config.attributes["connection"]`` (set by data/schema.py), whose SQLite
engine emits ``BEGIN`` itself, so a failed migration on SQLite rolls back whole instead of leaving an
``_alembic_tmp_*`` table behind (shared notes/reliability.md §3).
"""

from alembic import context
from bin_console.data import models  # noqa: F401  (registers the tables)
from bin_console.data.models import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` CLI use: build an engine from the ini URL
        from bin_console.data.engine import create_db_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic.ini sets no sqlalchemy.url")
        engine = create_db_engine(url)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
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
