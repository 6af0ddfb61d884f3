"""Notices that reach people outside Gridwise: WeCom / DingTalk / Feishu group robots, email (SMTP) and an
HTTP gateway (SMS, a government messaging platform, or an API subscriber's signed webhook).

The in-app inbox (core.inbox) stays the record. Every inbox notice fans out to deliveries in an outbox
that the scheduler's ``notify.deliver`` job sends (``core.notify.outbox``: who gets what, quiet hours, rate
limits, retries, and the crash rule — at-least-once: claim before send with a five-minute lease; a
delivery whose sender died after the provider answered is sent again once the lease lapses).

- ``models``    channels, deliveries, fan-out marks, user preferences;
- ``crypto``    Fernet encryption of channel URLs and secrets (GRIDWISE_SECRET_KEY) and their masked forms;
- ``providers`` one ``send(Target, Message) -> Outcome`` per channel kind, no database;
- ``channels``  add / enable / disable / test channels, the delivery log (scope-checked, audited);
- ``prefs``     each user's language, quiet hours and channel choices;
- ``outbox``    fan-out, claim, record, ``deliver_due``; ``jobs`` and ``cli`` expose it.
"""
