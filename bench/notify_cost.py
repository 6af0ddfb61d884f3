"""Notification outbox cost: CPU seconds to fan out and deliver N inbox notices through one Feishu robot
(provider calls stubbed to OK, SQLite file DB; 100 a minute, so N/100 job runs).

    PYTHONPATH=$PWD .venv/bin/python bench/notify_cost.py 1000
"""

import os
import sys
import tempfile
import time
from datetime import datetime, timedelta

from cryptography.fernet import Fernet

os.environ["GRIDWISE_SECRET_KEY"] = Fernet.generate_key().decode()
from sqlmodel import Session

from core.db import make_engine
from core.inbox import notify
from core.migrate import import_all_models
from core.notify import outbox, providers
from core.notify.channels import add_channel
from core.scope import SYSTEM
from tests.unit._notify_world import make_world

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
eng = make_engine(f"sqlite:///{tempfile.mkdtemp()}/b.db")
import_all_models().create_all(eng)
now = datetime(2026, 3, 2, 10, 0)
with Session(eng) as s:
    w = make_world(s)
    add_channel(
        s, SYSTEM, kind="feishu", name="A", url="http://127.0.0.1:9/hook/x", owner_unit_id=w.org.comm_a.id
    )
    users = [u.id for k, u in w.workers.items() if k.startswith("A")]
    notify(
        s,
        [
            {
                "user_id": users[i % len(users)],
                "key": f"k{i}",
                "kind": "remind24",
                "title_zh": f"t{i}",
                "body_zh": "正文",
                "created_at": now,
            }
            for i in range(N)
        ],
    )
    s.commit()
outbox.providers.send = lambda t, m, **k: providers.OK
cpu0 = time.process_time()
total = 0
t = now
while True:
    c = outbox.deliver_due(eng, now=t, limit=200)
    total += c["sent"]
    if c["queued"] == 0:
        break
    t += timedelta(minutes=1)
print(
    f"{N} notices, {total} deliveries sent, CPU {time.process_time() - cpu0:.2f} s "
    f"({(time.process_time() - cpu0) / max(total, 1) * 1000:.2f} ms each)"
)
