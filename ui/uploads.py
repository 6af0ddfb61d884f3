"""Uploaded files through the upload policy (core.uploads) before any domain call sees them."""

from __future__ import annotations

from collections.abc import Set

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.uploads import UploadError, check_upload, max_upload_bytes
from ui.state import lang


def accepted_upload(upload: UploadedFile, kinds: Set[str], *, max_bytes: int | None = None) -> bytes | None:
    """The file's bytes, or None after showing an error that names the file (wrong content, too big)."""
    data = upload.getvalue()
    try:
        check_upload(data, upload.name, kinds=frozenset(kinds), max_bytes=max_bytes or max_upload_bytes())
    except UploadError as exc:
        st.error(exc.message(lang()), icon=":material/block:")
        return None
    return data
