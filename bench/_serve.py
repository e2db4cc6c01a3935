"""Start the bench's server the way `seatflow serve --workers N` does (``seatflow.serving.run``).

``--stock-uvicorn`` runs plain ``uvicorn.run`` instead, without seatflow's TCP_NODELAY protocol: the
server as it was before that fix, to show the difference in one run (``dispatch.py --stock-uvicorn``).
"""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("target", help="the app factory, e.g. seatflow.asgi:app_from_env")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--stock-uvicorn", action="store_true")
    args = ap.parse_args()
    options = {"factory": True, "host": args.host, "port": args.port, "workers": args.workers,
               "log_level": "warning", "access_log": False, "timeout_keep_alive": 30, "backlog": 4096}
    if args.stock_uvicorn:
        import uvicorn

        uvicorn.run(args.target, **options)  # type: ignore[arg-type]
    else:
        from seatflow import serving

        serving.run(args.target, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
