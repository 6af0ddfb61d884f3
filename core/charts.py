"""Rules every chart follows, in one place (altair; no Streamlit here).

- Counts (workers, events, tasks, buildings) step by whole numbers: ``alt.Y("count():Q", axis=COUNT_AXIS)``.
  Vega-Lite's default ticks on a small count give 0.5 workers or 0.2 events.
- Bars start at zero (Vega-Lite's default for quantitative bars: never pass ``zero=False`` or a domain that
  starts above 0 to a bar's length); a zoomed axis belongs to points or lines, labelled as such.
"""

from __future__ import annotations

import altair as alt

COUNT_AXIS = alt.Axis(tickMinStep=1, format="d")
