"""我的数据 on screen (ui.my_data_view): every column a worker's data can have is labelled in both languages,
every id it holds names a row, every coded value has words, and a table reads without codes or 'None'."""

from __future__ import annotations

import pytest

from core.i18n import catalog
from core.models import Role, WorkerStatus
from core.models_rights import CorrectionStatus
from core.notify.models import DeliveryState
from core.rights import CORRECTION_FIELDS, NAMED_BY, exported_columns, exported_tables, referenced
from courses.models import AttemptStatus, AttendanceStatus, ExcuseStatus, RuleKind
from courses.training.models import HoursSource
from evaluation.assignment.models import DecisionSource
from evaluation.field.models import EventState, FigureSource
from evaluation.field.quality import KINDS
from evaluation.field.registry import PRIORITIES
from ui.my_data_view import CODES, HIDDEN, PAIRED, TARGET_CODES, Reader, column_label

# Every value a coded column can hold, from the code that writes it.
VALUES = {
    "worker.status": list(WorkerStatus),
    "app_user.role": list(Role),
    "field_event.state": list(EventState),
    "field_event.priority": PRIORITIES,
    "field_event.source": ["app", "import", "demo"],
    "field_metric_value.source": list(FigureSource),
    "field_verification_task.kind": KINDS,
    "field_verification_task.state": ["open", "done"],
    "quiz_attempt.status": list(AttemptStatus),
    "course_attendance.status": list(AttendanceStatus),
    "course_attendance.source": ["code", "link", "manual", "import", "auto", "excuse"],
    "course_enrollment.source": ["manual", "rule", "api", "demo"],
    "course_excuse.status": list(ExcuseStatus),
    "training_hours.source": list(HoursSource),
    "assignment_decision.source": [DecisionSource.SINGLE, DecisionSource.BATCH, DecisionSource.CLI],
    "correction_request.field": CORRECTION_FIELDS,
    "correction_request.status": list(CorrectionStatus),
    "notify_delivery.state": list(DeliveryState),
}


def _shown(table) -> list[str]:
    names = [c.name for c in exported_columns(table)]
    return [n.removesuffix(PAIRED[0]) for n in names if n not in HIDDEN and not n.endswith(PAIRED[1])]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_column_of_my_data_has_its_own_label(lang):
    """Test that each column 我的数据 can show, in every table it reads, has a header in the language and
    that no two columns of one table share a header."""
    for table in exported_tables():
        labels = {c: column_label(table.name, c, lang) for c in _shown(table)}
        assert None not in labels.values(), (table.name, [c for c, v in labels.items() if v is None])
        assert len(set(labels.values())) == len(labels), (table.name, labels)


def test_every_id_in_my_data_names_a_row():
    """Test that each column holding another row's id points to a table 我的数据 knows how to name."""
    for table in exported_tables():
        for column in _shown(table):
            target = referenced(table.name, column)
            if target is not None:
                assert target[0] in NAMED_BY, (table.name, column, target)
    assert set(RuleKind) <= {k.removeprefix(TARGET_CODES["course_enrollment_rule"]) for k in catalog("en")}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_coded_value_has_words(lang):
    """Test that each value a coded column can hold has a catalog entry in the language."""
    words = catalog(lang)
    assert set(VALUES) <= set(CODES), set(VALUES) - set(CODES)
    missing = [
        f"{CODES[c]}{v}" for c, values in VALUES.items() for v in values if f"{CODES[c]}{v}" not in words
    ]
    assert not missing, missing


def test_an_api_clients_operations_read_as_words():
    """Test that the operations an API client may use read as words, in each language."""
    rows = [{"id": 1, "name": "会议平台", "operations": "attendance.write,events.read", "is_active": True}]
    zh = Reader("zh", {}).frame("api_client", rows, own=set())
    assert zh.to_dict("records") == [
        {"客户端名称": "会议平台", "可用操作": "写入会议签到、读取事件", "有效": "是"}
    ]
    en = Reader("en", {}).frame("api_client", rows, own=set())
    assert "events.read" not in en.iloc[0, 1] and ", " in en.iloc[0, 1]


def test_a_table_reads_in_words_with_names_and_empty_cells():
    """Test one table as the reader sees it: the reader's own id left out, ids as names, codes and booleans
    as words, times to the minute, and nothing where nothing is stored."""
    rows = [
        {
            "id": 7,
            "session_id": 3,
            "worker_id": 183,
            "status": "present",
            "points": 2,
            "source": "code",
            "checked_in_at": "2020-01-30T14:47:12",
            "minutes_attended": None,
            "marked_by": 4,
            "marked_at": None,
        }
    ]
    names = {
        "training_session": {3: ("消防安全隐患排查 2020-01-30 14:30", "Fire 2020-01-30 14:30")},
        "app_user": {4: ("新区网格管理中心", "新区网格管理中心")},
    }
    frame = Reader("zh", names).frame("course_attendance", rows, own={183, 188})
    assert frame.to_dict("records") == [
        {
            "课次": "消防安全隐患排查 2020-01-30 14:30",
            "状态": "出勤",
            "分数": "2",
            "来源": "签到码",
            "签到时间": "2020-01-30 14:47",
            "在线分钟": "",
            "记录人": "新区网格管理中心",
            "记录时间": "",
        }
    ]
    english = Reader("en", names).frame("course_attendance", rows, own={183, 188})
    assert list(english.iloc[0])[:4] == ["Fire 2020-01-30 14:30", "Present", "2", "Code"]
