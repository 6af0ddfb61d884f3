"""The floor for bench/api_bench.py: a bare FastAPI endpoint that inserts one row per request into the same
database (no auth, no validation beyond pydantic, no idempotency, no audit). Started by the bench under
uvicorn exactly as the API is (``uvicorn bench._api_floor:app``)."""

from __future__ import annotations

import os

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from core.db import make_engine

engine = make_engine(os.environ["GRIDWISE_DATABASE_URL"])
app = FastAPI()


class Row(BaseModel):
    event_no: str
    item: str
    grid_code: str
    reported_at: str


@app.post("/floor", status_code=201)
def floor(row: Row) -> dict[str, str]:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO floor_event (event_no, body) VALUES (:n, :b)"),
            {"n": row.event_no, "b": row.model_dump_json()},
        )
    return {"event_no": row.event_no}
