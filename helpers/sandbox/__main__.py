"""``python -m helpers.sandbox serve [--host H] [--port N] [--data-dir DIR]``: a real HTTP server.

Runs on waitress (``helpers.sandbox.server``). Binds 127.0.0.1 unless told
otherwise and warns when bound elsewhere (the sandbox accepts any key). Jobs
advance with wall time by default here (``--progression time``); the in-process
default stays ``poll`` so recordings are deterministic. ``--port 0`` picks a
free port; the first line printed names the real address. ``--pace course``
(default) advances a stage every 0.5 s and ``--pace real`` every minute
(``helpers.sandbox.pacing``). A damaged or too-new state directory is one line
on stderr and exit status 1.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from . import app_for, pacing, settings
from .faults import Faults
from .server import is_loopback, make_server
from .store import StateError


def default_dir() -> Path:
    """COURSE_SANDBOX_DIR or .sandbox/, as ``helpers.config`` resolves it for live runs."""
    return settings.data_dir()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox API as an HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--data-dir", type=Path, default=None,
                       help="state directory (default: $COURSE_SANDBOX_DIR or .sandbox/)")
    serve.add_argument("--progression", choices=("poll", "instant", "time"), default=None,
                       help="how jobs advance (default: $COURSE_SANDBOX_PROGRESSION or time)")
    serve.add_argument("--pace", choices=tuple(pacing.PACES), default="course",
                       help="under --progression time: 'course' advances a stage every "
                            f"{pacing.PACES['course']:g} s (course timing), 'real' every "
                            f"{pacing.PACES['real']:g} s (closer to a hosted service)")
    serve.add_argument("--stage-seconds", type=float, default=None,
                       help="seconds a stage lasts under --progression time (overrides --pace)")
    serve.add_argument("--threads", type=int, default=None, help="worker threads (default 8)")
    serve.add_argument("--max-upload-bytes", type=int, default=None,
                       help="largest file upload (default: $COURSE_SANDBOX_MAX_UPLOAD_BYTES "
                            "or 512 MB, OpenAI's limit)")
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
    try:
        return serve(args)
    finally:
        pacing.clear_pace()  # the pace belongs to this serve, not to what the process does next


def serve(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s "
                        "%(message)s", stream=sys.stderr)
    # A burst of clients queues tasks for the worker threads: normal, not worth a warning each.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    data_dir = (args.data_dir or default_dir()).expanduser().resolve()
    try:
        progression = settings.progression(args.progression, default="time")
        pace = pacing.set_pace(args.pace, args.stage_seconds)
        app = app_for(data_dir, faults_from(args), progression=progression,
                      stall_on_timeout=args.timeout_stall)
    except StateError as exc:  # a damaged or too-new state directory: one line, how to reset
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.max_upload_bytes is not None:
        app.max_upload_bytes = args.max_upload_bytes
    kw = {"threads": args.threads} if args.threads else {}
    try:
        server = make_server(app, args.host, args.port, **kw)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    port = server.effective_port
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"sandbox serving {data_dir} at http://{shown}:{port} "
          f"(OpenAI: /v1, Zhipu: /api/paas/v4; progression {progression}, pace {pace.name}: "
          f"{pace.stage_seconds:g} s a stage); Ctrl-C stops it",
          flush=True)
    if not is_loopback(args.host):
        print(f"warning: bound to {args.host}, not loopback: anyone who can reach this "
              "machine can use the sandbox (it accepts any API key).", file=sys.stderr,
              flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly when terminated
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
