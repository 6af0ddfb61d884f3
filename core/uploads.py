"""Upload policy: a file is what its bytes are, not what its name says, and it has a size limit.

:func:`check_upload` reads the content (ZIP-based Office files by their parts, PDF and images by their magic
bytes, text by decoding it in the encodings :mod:`core.tabular` accepts) and refuses a file whose content
is not the kind its name claims or not a kind allowed here, a ZIP that unpacks to far more than it weighs
(a zip bomb), and a file over the limit (``GRIDWISE_MAX_UPLOAD_MB``; keep ``server.maxUploadSize`` in
.streamlit/config.toml at least as large). The error names the file in Chinese and English. Pure: no
database, no Streamlit.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import PurePath

from core.errors import GridwiseError
from core.i18n import t
from core.settings import get_settings
from core.tabular import Data, RowError, blocks, head_bytes, readable, size_of
from core.tabular import detect_encoding as _detect_encoding  # the one list of encodings the importers read

MB = 1 << 20
TABLE_KINDS = frozenset({"csv", "xlsx", "txt"})  # what every table import reads
ATTACHMENT_KINDS = frozenset(
    {"pdf", "png", "jpeg", "gif", "docx", "pptx", "xlsx", "txt", "md"}
)  # course files

# File-name extension → the kind its content must be.
_EXTENSIONS = {
    "csv": "csv",
    "txt": "txt",
    "md": "md",
    "markdown": "md",
    "xlsx": "xlsx",
    "docx": "docx",
    "pptx": "pptx",
    "pdf": "pdf",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "gif": "gif",
}
_TEXT = {"csv", "txt", "md"}  # content-wise these are all plain text
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"MZ", "program"),
    (b"\x7fELF", "program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
)  # OLE2: .xls/.doc/.ppt, or an encrypted .xlsx
_OOXML = (("xl/", "xlsx"), ("word/", "docx"), ("ppt/", "pptx"))
# A ZIP may unpack to at most this many times its size (Office files: 5–30×), and to at most this much.
ZIP_MAX_RATIO = 200
ZIP_MAX_UNPACKED = 1 << 30
ZIP_MAX_ENTRIES = 10_000


class UploadError(GridwiseError):
    """A refused upload (``core.upload.<key>``); the file kinds it names are shown in the reader's language."""

    prefix = "core.upload."

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, **params)
        self.args = (self.message("en"),)

    def message(self, lang: str) -> str:
        params = dict(self.params)
        for name in ("expected", "actual"):  # kinds are named in the reader's language
            if name in params:
                params[name] = t(f"core.upload.kind.{params[name]}", lang)
        return t(self.prefix + self.key, lang, **params)


def max_upload_bytes() -> int:
    """The configured limit for one uploaded file, in bytes."""
    return get_settings().max_upload_mb * MB


def _display_name(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name or filename
    return name if len(name) <= 80 else name[:77] + "…"


def sniff(data: Data) -> str:
    """What the bytes are: xlsx, docx, pptx, zip, pdf, png, jpeg, gif, ole, program, text or binary.

    Raises :class:`UploadError` (``damaged``/``zip_bomb``, with ``name`` left for the caller) for a ZIP
    that cannot be listed or would unpack to too much."""
    start = head_bytes(data, 16)
    if start.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    for magic, kind in _MAGIC:
        if start.startswith(magic):
            return kind
    encoding = _detect_encoding(data)
    if encoding is None:
        return "binary"
    if encoding.startswith("utf-16"):
        decoder = codecs.getincrementaldecoder(encoding)()
        return "binary" if any("\x00" in decoder.decode(b) for b in blocks(data)) else "text"
    # in UTF-8 and GB18030 a NUL byte is only ever NUL
    return "binary" if any(b"\x00" in b for b in blocks(data)) else "text"


def _sniff_zip(data: Data) -> str:
    try:
        with zipfile.ZipFile(readable(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UploadError("damaged", name="") from None
    unpacked = sum(e.file_size for e in entries)
    if (
        len(entries) > ZIP_MAX_ENTRIES
        or unpacked > ZIP_MAX_UNPACKED
        or unpacked > ZIP_MAX_RATIO * max(size_of(data), 64 * 1024)
    ):
        raise UploadError("zip_bomb", name="", ratio=unpacked // max(1, size_of(data)))
    names = {e.filename for e in entries}
    if "[Content_Types].xml" in names:
        for prefix, kind in _OOXML:
            if any(n.startswith(prefix) for n in names):
                return kind
    return "zip"


def check_upload(
    data: Data, filename: str, *, kinds: set[str] | frozenset[str], max_bytes: int | None = None
) -> str:
    """Accept ``data`` as one of ``kinds`` or raise :class:`UploadError` naming the file.

    The name's extension must be one of ``kinds`` and the content must be that kind (csv/txt/md: text in
    an encoding the importers read, with no NUL characters). ``max_bytes`` None = no size limit (the
    command line imports files of any size). Returns the kind."""
    name = _display_name(filename)
    if max_bytes is not None and size_of(data) > max_bytes:
        raise UploadError("too_large", name=name, size=f"{size_of(data) / MB:.1f}", mb=f"{max_bytes / MB:g}")
    ext = PurePath(name).suffix.lower().lstrip(".")
    expected = _EXTENSIONS.get(ext)
    if expected is None or expected not in kinds:
        allowed = ", ".join(sorted({f".{e}" for e, k in _EXTENSIONS.items() if k in kinds}))
        raise UploadError("bad_type", name=name, allowed=allowed)
    if not size_of(data):
        raise UploadError("empty", name=name)
    try:
        actual = sniff(data)
    except UploadError as exc:
        raise UploadError(exc.key, **{**exc.params, "name": name}) from None
    if actual == ("text" if expected in _TEXT else expected):
        return expected
    raise UploadError("mismatch", name=name, expected=expected, actual=actual)


def upload_problem(
    data: Data, filename: str, kinds: set[str] | frozenset[str] = TABLE_KINDS, max_bytes: int | None = None
) -> RowError | None:
    """:func:`check_upload` for the table importers: a refusal as a file-level ``RowError``, else None."""
    try:
        check_upload(data, filename, kinds=kinds, max_bytes=max_bytes)
    except UploadError as exc:
        return RowError(None, None, None, f"upload_{exc.key}", exc.message("zh"), exc.message("en"))
    return None
