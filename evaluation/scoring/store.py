"""Scheme versions in the database: read the active one, save an edit as a new version, list history."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from core.audit import changed_fields, record
from core.clock import now as clock_now
from core.errors import GridwiseError
from core.scope import ScopeError, Viewer
from core.sql import insert_ignore
from evaluation.field.api import metric_registry
from evaluation.scoring.inputs import TRAINING_REGISTRY
from evaluation.scoring.models_scoring import ScoringScheme
from evaluation.scoring.scheme import Scheme, default_scheme

# The note of version 1, which the system writes: stored as it is, shown by the page in the reader's words.
SHIPPED_NOTE = "shipped default (data/scoring_default.json)"


def registry_directions(session: Session) -> dict[str, str]:
    """metric code → higher/lower, from the field registry and the training figures."""
    reg = metric_registry(session)
    reg = pd.concat([reg[["code", "direction"]], TRAINING_REGISTRY[["code", "direction"]]])
    return dict(zip(reg["code"], reg["direction"], strict=True))


def metric_names(session: Session) -> dict[str, tuple[str, str]]:
    """metric code → (name_zh, name_en), from the field registry and the training figures."""
    reg = metric_registry(session)
    reg = pd.concat([reg[["code", "name_zh", "name_en"]], TRAINING_REGISTRY[["code", "name_zh", "name_en"]]])
    return {code: (zh, en) for code, zh, en in reg.itertuples(index=False)}


def ensure_default_scheme(session: Session) -> ScoringScheme:
    """The active scheme row, creating version 1 of the shipped default when there is none."""
    row = session.exec(select(ScoringScheme).where(ScoringScheme.is_active)).first()
    if row is not None:
        return row
    row = session.exec(
        select(ScoringScheme).order_by(col(ScoringScheme.created_at).desc(), col(ScoringScheme.id).desc())
    ).first()
    if row is not None:  # versions exist but none is active: the newest is
        row.is_active = True
        session.add(row)
        session.flush()
        return row
    s = default_scheme()
    # Two processes may get here at once (the first scorecard of a new installation): the unique key
    # (code, version) lets one insert win and the other skip it, without touching the caller's transaction
    # (no rollback of what the caller wrote before, no savepoint).
    insert_ignore(
        session,
        ScoringScheme,
        [
            {
                "code": s.code,
                "version": 1,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "definition": s.to_json(),
                "is_active": True,
                "note": SHIPPED_NOTE,
                "created_at": clock_now(),
            }
        ],
        conflict=("code", "version"),
    )
    return session.exec(
        select(ScoringScheme).where(ScoringScheme.code == s.code, ScoringScheme.version == 1)
    ).one()


def scheme_of(row: ScoringScheme) -> Scheme:
    return Scheme.from_json(row.definition, version=row.version)


def active_scheme(session: Session) -> tuple[Scheme, ScoringScheme]:
    row = ensure_default_scheme(session)
    return scheme_of(row), row


def _settings(scheme: Scheme) -> dict[str, Any]:
    """The figures an edit changes, one key each (for the audit trail's before and after)."""
    out: dict[str, Any] = {}
    for c in scheme.components:
        out[f"weight.{c.code}"] = c.weight
        out[f"rule.{c.code}"] = c.normalisation.describe() + (f", {c.fairness}" if c.fairness else "")
    out |= {
        f"adjustment.{a.code}": {"points": a.points_per_case, "cap": a.cap, "veto": a.veto}
        for a in scheme.adjustments
    }
    out |= {f"grade.{g.code}": {"min_score": g.min_score, "max_share": g.max_share} for g in scheme.grades}
    return out | {
        "bonus_cap": scheme.bonus_cap,
        "min_coverage": scheme.min_coverage,
        "year_rule": scheme.year_rule,
    }


def save_scheme_version(
    session: Session,
    viewer: Viewer,
    definition: dict[str, Any] | str,
    *,
    note: str = "",
    activate: bool = True,
) -> ScoringScheme:
    """Validate an edited definition and store it as the next version of its code (admins only)."""
    if not viewer.is_admin:
        raise ScopeError("scope.err.admin_schemes")
    text = definition if isinstance(definition, str) else json.dumps(definition, ensure_ascii=False)
    scheme = Scheme.from_json(text, registry_directions=registry_directions(session))
    last = session.exec(
        select(func.max(ScoringScheme.version)).where(ScoringScheme.code == scheme.code)
    ).one()
    version = (last or 0) + 1
    previous: dict[str, Any] = {}
    if last:
        prev = session.exec(
            select(ScoringScheme).where(ScoringScheme.code == scheme.code, ScoringScheme.version == last)
        ).one()
        if Scheme.from_json(prev.definition) == scheme:
            raise GridwiseError("score.err.scheme_unchanged", version=last)
        previous = _settings(Scheme.from_json(prev.definition))
    if activate:
        session.exec(update(ScoringScheme).values(is_active=False))
    row = ScoringScheme(
        code=scheme.code,
        version=version,
        name_zh=scheme.name_zh,
        name_en=scheme.name_en,
        definition=scheme.to_json(),
        is_active=activate,
        note=note[:500],
        created_by=viewer.user_id or None,
        created_at=clock_now(),
    )
    session.add(row)
    before, after = changed_fields(previous, _settings(scheme))
    record(
        session,
        "score.scheme.save",
        viewer=viewer,
        entity="scoring_scheme",
        entity_id=f"{scheme.code} v{version}",
        before={"version": last, **before} if last else None,
        after={"version": version, **after},
        detail={"note": note[:500], "activated": activate},
    )
    session.flush()
    return row


def activate_version(session: Session, viewer: Viewer, scheme_id: int) -> ScoringScheme:
    if not viewer.is_admin:
        raise ScopeError("scope.err.admin_schemes")
    row = session.get(ScoringScheme, scheme_id)
    if row is None:
        raise GridwiseError("score.err.no_scheme_version", scheme_id=scheme_id)
    was = session.exec(select(ScoringScheme).where(ScoringScheme.is_active)).first()
    record(
        session,
        "score.scheme.activate",
        viewer=viewer,
        entity="scoring_scheme",
        entity_id=f"{row.code} v{row.version}",
        before={"active": f"{was.code} v{was.version}" if was else None},
        after={"active": f"{row.code} v{row.version}"},
    )
    session.exec(update(ScoringScheme).values(is_active=False))
    row.is_active = True
    session.add(row)
    session.flush()
    return row


def scheme_versions(session: Session) -> pd.DataFrame:
    rows = session.execute(
        sa_select(
            col(ScoringScheme.id),
            col(ScoringScheme.code),
            col(ScoringScheme.version),
            col(ScoringScheme.name_zh),
            col(ScoringScheme.name_en),
            col(ScoringScheme.is_active),
            col(ScoringScheme.note),
            col(ScoringScheme.created_at),
        ).order_by(col(ScoringScheme.code), col(ScoringScheme.version).desc())
    ).all()
    return pd.DataFrame(
        rows, columns=["id", "code", "version", "name_zh", "name_en", "is_active", "note", "created_at"]
    )


def scheme_by_id(session: Session, scheme_id: int) -> Scheme:
    row = session.get(ScoringScheme, scheme_id)
    if row is None:
        raise GridwiseError("score.err.no_scheme_version", scheme_id=scheme_id)
    return scheme_of(row)
