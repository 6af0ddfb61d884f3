"""Expected failures of the courses area, with the reason in both languages.

Each error has a catalog key (``courses.err.<key>``) and parameters; ``str(exc)`` is the English text (for
logs and the CLI), ``exc.message(lang)`` what a page shows.
"""

from __future__ import annotations

from core.errors import GridwiseError


class CoursesError(GridwiseError):
    prefix = "courses.err."
