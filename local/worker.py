"""One warm Lambda container: a child process that loads one function and runs its events one at a time.

``local.runtime`` starts this file as a script (not as ``-m local.worker``) so
that, as in Lambda, the function sees only its own code folder and its layers
on ``sys.path``, with the function's folder as its working directory. It uses
the standard library only.

Protocol, one JSON document per line: the parent writes the init message
(``{"handler", "code_uri", "layers"}``) then one ``{"event", "context"}`` per
invocation on stdin; the worker answers ``{"ready": true}`` or ``{"error": …}``
to the init and ``{"result": …}`` or ``{"error": …}`` to each event on its
original stdout. Anything the function prints (logs, EMF metrics) goes to
stderr, which the parent turns into the function's log.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback


class LambdaContext:
    """The attributes and method of Lambda's Python context object."""

    def __init__(self, fields: dict):
        self.function_name = fields["function_name"]
        self.function_version = fields["function_version"]
        self.invoked_function_arn = fields["invoked_function_arn"]
        self.memory_limit_in_mb = fields["memory_limit_in_mb"]
        self.aws_request_id = fields["aws_request_id"]
        self.log_group_name = fields["log_group_name"]
        self.log_stream_name = fields["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = fields["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def _load(init: dict):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [
        init["code_uri"],
        *reversed(init["layers"]),  # a later layer overrides an earlier one, as in /opt
        *(entry for entry in sys.path if entry and os.path.abspath(entry) != here),
    ]
    os.chdir(init["code_uri"])
    module_name, _, attribute = init["handler"].rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, attribute)


def main() -> None:
    # Ctrl-C on `up` reaches the whole process group; the parent stops its containers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's prints become log lines, never protocol
    sys.stdout.reconfigure(line_buffering=True)

    def answer(message: dict) -> None:
        try:
            text = json.dumps(message)
        except (TypeError, ValueError) as error:
            text = json.dumps({"error": _error(error, "Runtime.MarshalError")})
        protocol.write(text + "\n")
        protocol.flush()

    init = json.loads(sys.stdin.readline())
    try:
        handler = _load(init)
    except Exception as error:
        traceback.print_exc()
        answer({"error": _error(error, "Runtime.ImportModuleError")})
        return
    answer({"ready": True})

    for line in sys.stdin:
        message = json.loads(line)
        context = LambdaContext(message["context"])
        started = time.perf_counter()
        print(f"START RequestId: {context.aws_request_id} Version: {context.function_version}", file=sys.stderr)
        try:
            reply = {"result": handler(message["event"], context)}
        except Exception as error:
            print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr)
            traceback.print_exc()
            reply = {"error": _error(error)}
        elapsed = (time.perf_counter() - started) * 1000
        print(f"END RequestId: {context.aws_request_id}", file=sys.stderr)
        print(
            f"REPORT RequestId: {context.aws_request_id}\tDuration: {elapsed:.2f} ms\t"
            f"Memory Size: {context.memory_limit_in_mb} MB",
            file=sys.stderr,
        )
        answer(reply)


if __name__ == "__main__":
    main()
