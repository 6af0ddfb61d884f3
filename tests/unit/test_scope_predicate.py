"""One scope rule for an org unit, in Python (core.scope.in_scope) and in SQL (path_scope_clause,
unit_scope_clause): for every viewer × unit of a small district both answer the same, and the answer is
"the unit is the viewer's scope unit or below it"."""

from __future__ import annotations

from sqlmodel import col, select

from core.models import OrgUnit, Role
from core.scope import in_scope, path_scope_clause, unit_scope_clause
from tests.factories import make_org, viewer


def _below(session, unit: OrgUnit, top: OrgUnit | None) -> bool:
    """The expected answer, walked through parent ids (not through paths)."""
    while unit is not None:
        if top is None or unit.id == top.id:
            return True
        unit = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    return False


def test_python_and_sql_agree_on_every_unit(session):
    """Test that in_scope and path_scope_clause select the same units for the district, a subdistrict, a
    community and a grid-less community viewer, and that those are exactly the scope unit and its subtree."""
    org = make_org(session)
    units = session.exec(select(OrgUnit)).all()
    for top in (None, org.sub, org.comm_a, org.comm_b):
        v = viewer(Role.MANAGER, top)
        by_python = {u.id for u in units if in_scope(v, u.path)}
        by_sql = set(session.exec(select(OrgUnit.id).where(path_scope_clause(v, col(OrgUnit.path)))).all())
        expected = {u.id for u in units if _below(session, u, top)}
        assert by_python == by_sql == expected, top
        assert set(session.exec(select(OrgUnit.id).where(unit_scope_clause(v))).all()) == expected


def test_a_unit_id_inside_another_id_is_not_confused(session):
    """Test that scope unit 1 does not match a path holding unit 11 or 21 (the ids are delimited)."""
    v = viewer(Role.MANAGER)
    v = v.__class__(**{**v.__dict__, "scope_unit_id": 1})
    assert in_scope(v, "/1/4/") and in_scope(v, "/1/")
    assert not in_scope(v, "/11/4/") and not in_scope(v, "/21/") and not in_scope(v, None)


def test_no_unit_for_workers_in_sql_and_no_missing_unit_in_python(session):
    """Test that unit_scope_clause gives a worker no unit, and a missing unit (None path) is out of any
    scoped viewer's scope but inside the district's."""
    org = make_org(session)
    worker = viewer(Role.WORKER, worker=org.workers_a[0])
    assert session.exec(select(OrgUnit.id).where(unit_scope_clause(worker))).all() == []
    assert not in_scope(viewer(Role.MANAGER, org.comm_a), None)
    assert in_scope(viewer(Role.MANAGER), None)
