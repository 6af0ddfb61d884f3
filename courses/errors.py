"""Expected failures of the courses area, with the reason in both languages.

Each error has a catalog key (``courses.err.<key>``) and parameters; ``str(exc)`` is the English text (for
logs and the CLI), ``exc.message(lang)`` what a page shows.
"""

from __future__ import annotations

from core.i18n import t


class CoursesError(ValueError):
    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(t(f"courses.err.{key}", "en", **params))

    def message(self, lang: str) -> str:
        return t(f"courses.err.{self.key}", lang, **self.params)
