"""Run a field import the way its callers do (a page's or the CLI's unit of work): a clean file is committed,
a refused one rolled back; the report either way."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from evaluation.field.imports import ImportRefused, ImportReport, import_file


def import_and_commit(session: Session, *args: Any, **kwargs: Any) -> ImportReport:
    try:
        report = import_file(session, *args, **kwargs)
    except ImportRefused as refused:
        session.rollback()
        return refused.report
    session.commit()
    return report
