"""Managers: the course catalog, scheduling sessions (one-off or weekly) with a week calendar, and enrollment
by hand or by rule.

The tabs live in ui/course_admin/ (one module each); this page loads what they share and lays them out. Only
the open tab runs (ui.lazy_tabs): a view of the calendar reads no enrolment and builds no course editor."""

import pandas as pd
import streamlit as st
from sqlmodel import Session

from core import clock
from core.i18n import pick
from core.models import OrgLevel
from core.org import units_frame
from courses.catalog import catalog_frame, skill_areas
from ui import resources
from ui.course_admin import calendar_tab, catalog_tab, enroll_tab, schedule_tab
from ui.course_admin.common import CourseAdmin
from ui.guard import require
from ui.lazy_tabs import lazy_tabs
from ui.options import distinct_labels
from ui.state import lang, tr

viewer = require(__file__)
L = lang()
now = clock.now()
district_level = viewer.scope_unit_id is None


with Session(resources.engine()) as session:
    catalog = catalog_frame(session)
    units = pd.concat(
        [
            units_frame(session, viewer, OrgLevel.SUBDISTRICT),
            units_frame(session, viewer, OrgLevel.COMMUNITY),
        ],
        ignore_index=True,
    )
areas = skill_areas()
course_ids = catalog["id"].astype(int).tolist()
course_label = distinct_labels(  # two courses (two codes) may share a title
    dict(
        zip(
            catalog["id"].astype(int),
            [pick(L, z, e) for z, e in zip(catalog["title_zh"], catalog["title_en"], strict=True)],
            strict=True,
        )
    )
)
unit_label = distinct_labels(  # two communities may share a name
    dict(
        zip(
            units["id"].astype(int),
            [pick(L, z, e) for z, e in zip(units["name_zh"], units["name_en"], strict=True)],
            strict=True,
        )
    )
)

st.title(tr("courses.title"))
shared = CourseAdmin(
    viewer=viewer,
    now=now,
    district_level=district_level,
    catalog=catalog,
    course_ids=course_ids,
    course_label=course_label,
    unit_label=unit_label,
    areas=areas,
)
TABS = {"calendar": calendar_tab, "schedule": schedule_tab, "enroll": enroll_tab, "catalog": catalog_tab}
tabs = lazy_tabs("catalog_tab", {code: tr(f"courses.tab.{code}") for code in TABS})
for code, tab in TABS.items():
    if tabs[code].open:  # only the open tab runs (ui.lazy_tabs)
        with tabs[code]:
            tab.render(shared)
