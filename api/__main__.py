"""``python -m api [--host H] [--port P] [--workers N]``: the API server (uvicorn)."""

from __future__ import annotations

import argparse
import sys


def serve(host: str = "127.0.0.1", port: int = 8600, workers: int = 1) -> int:
    # lazy: loaded when the command runs, so `gridwise --help` stays light (core/cli.py)
    import uvicorn

    from core.db import get_engine
    from core.instance import InstanceRefused, check_instance

    try:  # refuse before uvicorn starts, with the message alone (create_app checks again in each worker)
        check_instance(get_engine())
    except InstanceRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        access_log=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m api", description="Gridwise JSON API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8600)
    p.add_argument("--workers", type=int, default=1, help="server processes (rate limits are per process)")
    a = p.parse_args(argv)
    return serve(a.host, a.port, a.workers)


if __name__ == "__main__":
    sys.exit(main())
