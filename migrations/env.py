"""Alembic environment: one metadata for all areas; APScheduler's table left alone."""

from __future__ import annotations

from alembic import context

from core.db import make_engine
from core.migrate import FOREIGN_TABLES, import_all_models
from core.settings import get_settings

config = context.config
URL = config.get_main_option("sqlalchemy.url") or get_settings().database_url
# A caller may pass a subset of the metadata (one area's tables) to generate that area's revision.
target_metadata = config.attributes.get("target_metadata") or import_all_models()


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001 - Alembic hook
    return not (type_ == "table" and name in FOREIGN_TABLES)


def run_migrations_offline() -> None:
    context.configure(
        url=URL,
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=include_object,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:  # a caller's connection inside its own transaction (core.backup's restore)
        context.configure(
            connection=given,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(URL)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
