"""Where the repository's own files live. Kept apart from core.settings (pydantic) so that light modules
(the i18n catalogs, ``gridwise --help``) can find data/ without loading the settings machinery."""

from __future__ import annotations

from pathlib import Path

# The repository root: migrations/, data/ and the default database live relative to it.
ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
VAR_DIR = ROOT / "var"
