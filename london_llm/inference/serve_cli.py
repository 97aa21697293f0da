"""The command line of 06_inference/serve.py: the OpenAI-compatible completions API.

    python 06_inference/serve.py                                   # newest slm checkpoint, 127.0.0.1:8000
    python 06_inference/serve.py --model tiny --port 8080 --api_key "$KEY"
    curl http://127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' \\
         -d '{"prompt": "The prisoner was", "max_tokens": 40}'
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from london_llm.inference.flags import HelpFormatter, add_model_flags, startup

API_KEY_ENV = "LONDON_LLM_API_KEY"


def build_parser(prog: str, description: str, default_model: str, presets) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=HelpFormatter)
    add_model_flags(p, default_model, presets, threads_default="torch's default")  # the server's threads are its own
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (0.0.0.0 exposes the API to the network: set --api_key then)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--api_key", default=None,
                   help=f"require 'Authorization: Bearer KEY' on /v1/* (default: ${API_KEY_ENV}, else none)")
    p.add_argument("--queue_size", type=int, default=64, help="requests that may wait; one more gets 429")
    p.add_argument("--max_batch", type=int, default=32, help="sequences decoded together in one forward pass")
    p.add_argument("--served_model_name", default=None, help="the model id clients pass (default: the folder name)")
    p.add_argument("--log_file", default=None, help="also append the server log to this file")
    p.add_argument("--log_level", default="info", choices=["debug", "info", "warning", "error"],
                   help="the least severe server log lines shown")
    return p


def port_problem(host: str, port: int) -> Optional[str]:
    """Why the server could not listen on host:port, or None. Checked before the model loads: uvicorn's
    own answer (a port already in use) is several log lines and exit 3, after the "Serving" line."""
    import errno
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):  # SO_REUSEADDR, as uvicorn binds
            return None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return (f"{host}:{port} is already in use (another serve.py?): stop that server, or pass "
                    "--port N for another port")
        return f"cannot listen on {host}:{port} ({exc.strerror or exc}): check --host and --port"


def main(argv: Optional[list[str]], *, prog: str = "serve.py", description: str = __doc__.splitlines()[0],
         default_model: str = "slm", presets=("slm", "regular", "tiny"), paths_fn: Callable) -> int:
    args = build_parser(prog, description, default_model, presets).parse_args(argv)
    from london_llm.inference.errors import InferenceError
    from london_llm.logs import setup_logger
    from london_llm.inference import server

    setup_logger("london_llm.inference.server", Path(args.log_file) if args.log_file else None,
                 terminal_level=getattr(logging, args.log_level.upper()))
    if not 1 <= args.port <= 65535:
        print(f"ERROR: --port {args.port}: choose 1..65535", file=sys.stderr)
        return 2
    if args.queue_size < 1 or args.max_batch < 1:
        print("ERROR: --queue_size and --max_batch must be at least 1", file=sys.stderr)
        return 2
    taken = port_problem(args.host, args.port)
    if taken:
        print(f"ERROR: {taken}", file=sys.stderr)
        return 2
    try:  # what can be checked at once is, before the port opens: a wrong name is an error, not a 503
        start = startup(args, paths_fn)
    except InferenceError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    path, root = start.path, start.checkpoints_dir
    if start.threads is not None:  # only when asked: the model runs on worker threads, not this one
        import torch

        torch.set_num_threads(start.threads)
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if args.host not in ("127.0.0.1", "localhost", "::1") and api_key is None:
        print(f"WARNING: serving on {args.host} without an API key: anyone who can reach it can use it",
              file=sys.stderr)

    def load():
        from london_llm.inference.engine import Engine
        from london_llm.inference.loading import load_model

        return Engine(load_model(path, checkpoints_dir=root, device=args.device, dtype=args.dtype))

    print(f"Serving {path} on http://{args.host}:{args.port} (GET /health answers 503 until it is loaded)",
          file=sys.stderr)
    code = server.serve(load, host=args.host, port=args.port, api_key=api_key, model_id=args.served_model_name,
                        queue_size=args.queue_size, max_batch_rows=args.max_batch, log_level=args.log_level)
    if code:
        print("ERROR: the model did not load (see the message above)", file=sys.stderr)
    return code
