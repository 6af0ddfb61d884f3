"""The audit trail in words (core.audit_text): actions, objects and recorded values as people read them."""

from __future__ import annotations

import json

from core.audit_text import action_text, entity_text, user_text, values_text
from core.scope import SYSTEM


def test_actions_read_as_words_by_name_family_or_area():
    """Test that an action with a label reads as it, a view or download names what was seen, an event step
    names the step, and an action without a label reads as its area, never as its code."""
    assert action_text("signin.ok", "zh") == "登录成功"
    assert action_text("signin.ok", "en") == "signed in"
    assert action_text("view.workers", "zh") == "浏览个人信息：网格员档案"
    assert action_text("export.something_new", "en") == "personal data downloaded: other"
    assert action_text("field.event.sign", "zh") == "事件处置：签收"
    assert action_text("user.some_new_step", "zh") == "用户账号"


def test_objects_users_and_values_read_without_codes_or_json():
    """Test that the object, the acting user and recorded JSON read in the reader's language: labelled
    names, yes/no, empty, worker groups in words, long id lists shortened, nested rows bracketed."""
    assert entity_text("web_session", "8", "zh") == "登录会话 8"
    assert entity_text("scope", "district", "en") == "scope district"
    assert entity_text("course", "fire_safety", "zh", {("course", "fire_safety"): "消防"}) == "课程 消防"
    assert user_text(SYSTEM.display_name, "zh") == "系统（定时任务、命令行）"
    assert user_text("xiasha", "zh") == "xiasha"
    raw = json.dumps(
        {
            "requirements": [{"worker_group": "all", "hours": 2.0, "bottom_pct": None}],
            "worker_ids": [1, 2, 3, 4, 5, 6],
        }
    )
    assert values_text(raw, "zh") == (
        "学时要求：（人员类别：全体网格员；学时：2；末位比例（%）：（空））；网格员：1、2、3、4、5 等共 6 个"
    )
    assert values_text(json.dumps({"require_quiz": True}), "en") == "quiz required: yes"
    assert values_text(json.dumps({"courses": [], "filter": {}}), "zh") == "必修课：（空）；筛选条件：（空）"
    assert values_text(None, "zh") == values_text(float("nan"), "zh") == ""


def test_a_channel_test_reads_as_its_outcome_not_as_empty_codes():
    """Test that a channel test's detail names a failure's reason in words (a field's own value labels) and a
    success records nothing empty ("error: ;" was shown for every successful test)."""
    failed = json.dumps({"ok": False, "error_kind": "config", "error": "errcode 93000"})
    assert values_text(failed, "zh") == (
        "发送成功：否；失败原因：密钥、签名、关键词或 IP 白名单被拒绝，渠道已停用，请管理员检查后重新启用；"
        "服务方回应：errcode 93000"
    )
    assert values_text(failed, "en").startswith("went through: no; reason: Key, signature")
    assert values_text(json.dumps({"ok": True}), "zh") == "发送成功：是"
    # A field's value label does not leak into other fields: "config" elsewhere stays as recorded.
    assert values_text(json.dumps({"kind": "config"}), "en") == "kind: config"
