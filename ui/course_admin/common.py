"""What the 课程与排课 tabs share: the viewer, the clock, the catalog and the units in scope with their names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from core.scope import Viewer


@dataclass(frozen=True)
class CourseAdmin:
    viewer: Viewer
    now: datetime
    district_level: bool
    catalog: pd.DataFrame
    course_ids: list[int]
    course_label: dict[int, str]
    unit_label: dict[int, str]
    areas: dict[str, tuple[str, str]]
