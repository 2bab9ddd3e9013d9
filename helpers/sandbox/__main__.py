"""``python -m helpers.sandbox serve [--host H] [--port N] [--data-dir DIR]``: a real HTTP server."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import app_for
from .faults import Faults


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        if os.environ.get("COURSE_SANDBOX_LOG"):
            super().log_request(code, size)


def default_dir() -> Path:
    """COURSE_SANDBOX_DIR or .sandbox/, as ``helpers.config`` resolves it for live runs."""
    from .. import config

    return config.resolve(mode="live").sandbox_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox API as an HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, default=None,
                       help="state directory (default: $COURSE_SANDBOX_DIR or .sandbox/)")
    serve.add_argument("--progression", choices=("poll", "instant", "time"), default=None)
    group = serve.add_argument_group("injected faults")
    for name in ("latency", "rate-429", "rate-500", "retry-after", "rate-timeout"):
        group.add_argument(f"--{name}", type=float, default=None)
    group.add_argument("--timeout-stall", type=float, default=10.0,
                       help="seconds a timeout fault stalls before answering 504")
    group.add_argument("--fail-jobs", action="store_true")
    group.add_argument("--training-not-available", action="store_true")
    group.add_argument("--seed", type=int, default=0)
    return parser


def faults_from(args) -> Faults:
    values = {k: getattr(args, k) for k in ("latency", "rate_429", "rate_500", "retry_after",
                                            "rate_timeout") if getattr(args, k) is not None}
    return Faults(**values, fail_jobs=args.fail_jobs,
                  training_not_available=args.training_not_available, seed=args.seed)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = (args.data_dir or default_dir()).expanduser().resolve()
    try:
        app = app_for(data_dir, faults_from(args), progression=args.progression,
                      stall_on_timeout=args.timeout_stall)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, app, server_class=ThreadingWSGIServer,
                         handler_class=QuietHandler)
    port = server.server_address[1]
    print(f"sandbox serving {data_dir} at http://{args.host}:{port} "
          f"(OpenAI: /v1, Zhipu: /api/paas/v4); Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
