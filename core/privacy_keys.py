"""Changing the contact-data key: every sealed value opened with the old key and sealed with the new one,
and every keyed hash recomputed, in the caller's one transaction (all or nothing)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from core.privacy import contact_columns, table_models
from core.sealed import lookup_hash, seal, unseal


def rotate_key(session: Session, *, old_key: str, new_key: str) -> dict[str, int]:
    """Re-seal every contact column under ``new_key``; returns the rows rewritten per table. A value that
    ``old_key`` cannot open raises (core.sealed.DataKeyError) and the caller's transaction writes nothing."""
    counts: dict[str, int] = {}
    tables = {cls.__table__.name: cls.__table__ for cls in table_models()}
    for name, columns in sorted(contact_columns().items()):
        table = tables[name]
        pk = [c.name for c in table.primary_key.columns]
        hashes = {c: f"{c}_hash" for c in columns if f"{c}_hash" in table.columns}
        cols = ", ".join([*pk, *columns])
        rows = session.connection().execute(text(f"SELECT {cols} FROM {name}")).all()
        assignments = [f"{c} = :{c}" for c in columns] + [f"{h} = :{h}" for h in hashes.values()]
        where = " AND ".join(f"{k} = :pk_{k}" for k in pk)
        params = []
        for row in rows:
            keys, values = row[: len(pk)], row[len(pk) :]
            if not any(values):
                continue
            plain = {c: unseal(v, old_key) for c, v in zip(columns, values, strict=True)}
            new = {c: seal(v, new_key) for c, v in plain.items()}
            new |= {h: lookup_hash(plain[c], new_key) for c, h in hashes.items()}
            params.append({**new, **{f"pk_{k}": v for k, v in zip(pk, keys, strict=True)}})
        if params:
            session.connection().execute(
                text(f"UPDATE {name} SET {', '.join(assignments)} WHERE {where}"), params
            )
        counts[name] = len(params)
    return counts
