"""Generate the next Alembic revision for one area's tables.

    .venv/bin/python -m migrations.new_revision 0003_courses "courses: …" courses.models

Autogenerate compares the database at head with the models of the named modules plus every table
already in a migration, so a revision holds exactly one area's new tables even while other areas'
models exist in the tree without migrations yet. Read and tidy the file afterwards.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import MetaData, inspect

from core.db import make_engine
from core.migrate import alembic_config, import_all_models, upgrade


def main(rev_id: str, message: str, *modules: str) -> None:
    full = import_all_models()
    wanted = set()
    for name in modules:
        module = importlib.import_module(name)
        wanted |= {t.name for t in full.sorted_tables if t.name in _tables_of(module, full)}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'gen.db'}"
        upgrade(url)
        engine = make_engine(url)
        existing = set(inspect(engine).get_table_names())
        engine.dispose()
        subset = MetaData()
        for table in full.sorted_tables:
            if table.name in existing or table.name in wanted:
                table.to_metadata(subset)
        cfg = alembic_config(url)
        cfg.attributes["target_metadata"] = subset
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


def _tables_of(module: object, metadata: MetaData) -> set[str]:
    names = set()
    for value in vars(module).values():
        table = getattr(value, "__table__", None)
        if table is not None and getattr(value, "__module__", "") == module.__name__:
            names.add(table.name)
    return names


if __name__ == "__main__":
    main(*sys.argv[1:])
