"""Alembic environment: uses the connection handed in by db.migrate (the app, manage.py), or, for
the alembic command line, the URL given as ``-x url=...`` or in JIFEN_DATABASE_URL."""

import os

from alembic import context

from db.engine import make_engine
from db.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("JIFEN_DATABASE_URL")
    if not url:
        raise SystemExit("请用 python manage.py init 升级数据库，或给出 -x url=... / JIFEN_DATABASE_URL")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
