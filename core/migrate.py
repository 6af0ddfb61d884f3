"""Schema management through Alembic, and the model registry it compares against.

Every area keeps its tables in modules named ``models`` (or ``models_*``) inside core/, courses/ or
evaluation/; ``import_all_models`` finds them so that Alembic and the test suite see one metadata.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlmodel import SQLModel

from core.settings import ROOT, get_settings

AREAS = ("core", "courses", "evaluation")
# Tables that are not ours: APScheduler keeps its job store in the same database.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


@cache
def import_all_models() -> MetaData:
    """Every table of the application (each area's ``models`` / ``models_*`` modules imported): the package
    walk runs once per process (我的数据 asks for every column it shows; the walk cost 24 ms each time)."""
    for area in AREAS:
        package = importlib.import_module(area)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{area}."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf == "models" or leaf.startswith("models_"):
                importlib.import_module(info.name)
    return SQLModel.metadata


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
