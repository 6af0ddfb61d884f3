"""The one base class for expected failures that a person can act on.

An error carries a catalog key and its parameters: ``str(exc)`` is the English text (logs, the CLI, the
API), ``exc.message(lang)`` the text a page shows. Areas subclass it with their key prefix
(``courses.err.``, ``assign.``…); a subclass without a prefix uses full keys.
"""

from __future__ import annotations

from core.i18n import t


class GridwiseError(ValueError):
    prefix = ""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(t(self.prefix + key, "en", **params))

    def message(self, lang: str) -> str:
        return t(self.prefix + self.key, lang, **self.params)


class Misuse(ValueError):
    """Code (not a person) passed what no person could, or a shipped file is broken: a bug, found early.

    The message is English, for developers; it is never shown as a refusal (``ui.errors`` and the CLI let it
    through). A person's bad input is a ``GridwiseError`` instead."""


class InternalError(RuntimeError):
    """A computation that should always succeed did not (e.g. a solver's status): a bug, with the facts."""
