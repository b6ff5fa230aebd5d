"""Run template functions as Lambda does: warm containers, one event each at a time.

A *container* is a child process (``local/worker.py``) that imports one
function with the template's environment, its code folder and its layers, and
then handles events one at a time. Processes rather than threads, because
Lambda code keeps per-invocation state in module globals (the Powertools
resolver's ``current_event``, the Metrics store shared by every ``Metrics()``
instance, the Logger's keys); one process per container keeps concurrent
requests from ever sharing that state, and keeps one function's modules from
shadowing another's (every function has a module named ``app``).

A ``FunctionPool`` keeps up to ``max_containers`` warm containers per
function, starts them on demand, and replaces one that crashed or timed out.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from local.template import FunctionSpec

WORKER = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_S = 10  # Lambda's limit on a function's init phase
# Lambda inits each container on its own machine; here they share the developer's cores. Starting every
# function at once (a restart with a backlog in the queues) would let them starve each other past
# INIT_TIMEOUT_S, so at most this many inits run together. Waiting for a slot is not init time.
_INIT_SLOTS = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))
MAX_CONTAINERS = 4


@dataclass(frozen=True)
class AwsSettings:
    """Where the functions' AWS SDK calls go, and as whom."""

    endpoint: str
    region: str
    access_key: str
    secret_key: str
    account_id: str
    dynamodb_endpoint: str | None = None  # DynamoDB and its streams, when another endpoint serves them

    @classmethod
    def from_config(cls, config: dict) -> AwsSettings:
        """From ``up``'s first line, or its state file (the same keys, and the account)."""
        return cls(
            config["endpoint"],
            config["region"],
            config["aws_access_key_id"],
            config["aws_secret_access_key"],
            config.get("account_id", ""),
            config.get("dynamodb_endpoint"),
        )

    def endpoint_for(self, service: str) -> str:
        if self.dynamodb_endpoint and service in ("dynamodb", "dynamodbstreams"):
            return self.dynamodb_endpoint
        return self.endpoint

    def environment(self) -> dict[str, str]:
        """The SDK's endpoint variables: one for every service, and DynamoDB's own where it has one."""
        env = {"AWS_ENDPOINT_URL": self.endpoint}
        if self.dynamodb_endpoint:
            env["AWS_ENDPOINT_URL_DYNAMODB"] = env["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = self.dynamodb_endpoint
        return env


def function_environment(spec: FunctionSpec, aws: AwsSettings) -> dict[str, str]:
    """A Lambda-like process environment: the template's variables plus what Lambda itself sets.

    The developer's own AWS profile and credentials are deliberately not passed
    on, so a local run can never reach a real account.
    """
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    env.update(spec.environment)
    env.update(aws.environment())
    env.update(
        {
            "BILLING_AWS_READ_TIMEOUT_S": "30",  # moto queues DynamoDB requests; see billing.dal.clients
            "AWS_ACCESS_KEY_ID": aws.access_key,
            "AWS_SECRET_ACCESS_KEY": aws.secret_key,
            "AWS_REGION": aws.region,
            "AWS_DEFAULT_REGION": aws.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "_HANDLER": spec.handler,
            # The SDK's documented app id: each request's User-Agent names the function (moto's logs, benchmarks).
            "AWS_SDK_UA_APP_ID": Path(spec.code_uri).name,
            # No X-Ray daemon runs locally; Tracing: Active would only log connection errors.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "TZ": "UTC",  # Lambda runs in UTC; code must not lean on the machine's zone
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Invocation:
    """The outcome of one event: the handler's result, or Lambda's error document."""

    request_id: str
    result: Any = None
    error: dict | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _error(error_type: str, message: str) -> dict:
    return {"errorType": error_type, "errorMessage": message, "stackTrace": []}


class Container:
    """One warm worker process for one function."""

    def __init__(self, spec: FunctionSpec, env: dict[str, str], log: Callable[[str], None], arn: str):
        self.spec = spec
        self.env = env
        self.log = log
        self.arn = arn
        self.stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.process: subprocess.Popen | None = None
        self.alive = True

    def start(self) -> dict | None:
        """Start the worker and import the function (Lambda's init phase); an error document on failure."""
        while not _INIT_SLOTS.acquire(timeout=0.2):
            if not self.alive:  # the stack is stopping: no new worker
                return _error("Runtime.ExitError", "the container was stopped before its init")
        try:
            if not self.alive:
                return _error("Runtime.ExitError", "the container was stopped before its init")
            return self._start()
        finally:
            _INIT_SLOTS.release()

    def _start(self) -> dict | None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=self.spec.code_uri,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        threading.Thread(target=self._pump_log, args=(self.process.stderr,), daemon=True).start()
        init = {
            "handler": self.spec.handler,
            "code_uri": str(self.spec.code_uri),
            "layers": [str(layer) for layer in self.spec.layers],
        }
        reply = self._exchange(init, INIT_TIMEOUT_S)
        if "error" in reply:
            self.stop()
            return reply["error"]
        return None

    def invoke(self, event: Any, request_id: str) -> Invocation:
        started = time.perf_counter()
        invocation = Invocation(request_id)
        if self.process is None:
            invocation.error = self.start()
        if invocation.error is None:
            deadline_ms = int(time.time() * 1000) + self.spec.timeout_s * 1000
            context = {
                "function_name": self.spec.name,
                "function_version": "$LATEST",
                "invoked_function_arn": self.arn,
                "memory_limit_in_mb": self.spec.memory_mb,
                "aws_request_id": request_id,
                "log_group_name": self.spec.log_group,
                "log_stream_name": self.stream,
                "deadline_ms": deadline_ms,
            }
            reply = self._exchange({"event": event, "context": context}, self.spec.timeout_s)
            invocation.result, invocation.error = reply.get("result"), reply.get("error")
        invocation.duration_ms = (time.perf_counter() - started) * 1000
        return invocation

    def stop(self) -> None:
        self.request_stop()
        self.wait_stopped()

    def request_stop(self) -> None:
        """Close the worker's stdin: it finishes the event in hand, if any, and exits."""
        self.alive = False
        if self.process and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def wait_stopped(self, timeout_s: float = 2) -> None:
        if self.process and self.process.poll() is None:
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _exchange(self, message: dict, timeout_s: float) -> dict:
        assert self.process is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._kill()
            return {"error": _error("Runtime.ExitError", "the container exited before the event was delivered")}
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            self._kill()
            return {"error": _error("Sandbox.Timedout", f"Task timed out after {timeout_s:.2f} seconds")}
        line = self.process.stdout.readline()
        if not line:
            self._kill()
            return {"error": _error("Runtime.ExitError", f"the container exited (status {self.process.poll()})")}
        return json.loads(line)

    def _kill(self) -> None:
        self.alive = False
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _pump_log(self, stream: TextIO) -> None:
        for line in stream:
            self.log(line.rstrip("\n"))


class FunctionPool:
    """Up to ``max_containers`` warm containers of one function; each serves one event at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        aws: AwsSettings,
        log_sink: TextIO | None = None,
        max_containers: int = MAX_CONTAINERS,
    ):
        self.spec = spec
        self.env = function_environment(spec, aws)
        self.arn = f"arn:aws:lambda:{aws.region}:{aws.account_id}:function:{spec.name}"
        self.max_containers = max_containers
        self._sink = log_sink
        self._sink_lock = threading.Lock()
        self._idle: list[Container] = []
        self._all: set[Container] = set()
        self._ready = threading.Condition()
        self._closed = False

    def invoke(self, event: Any, request_id: str | None = None) -> Invocation:
        container = self._acquire()
        try:
            return container.invoke(event, request_id or str(uuid.uuid4()))
        finally:
            self._release(container)

    def warm(self) -> None:
        """Start one container ahead of the first event, as provisioned concurrency would."""
        try:
            container = self._acquire()
        except RuntimeError:  # stopped before its turn came
            return
        try:
            if container.process is None and (error := container.start()):
                self._write(f"init failed: {error['errorType']}: {error['errorMessage']}")
        finally:
            self._release(container)

    def wait_ready(self, stopping: threading.Event, retry_s: float = 1.0) -> bool:
        """Block until one container has finished its init (retrying failed ones); False if ``stopping`` is set.

        A queue consumer waits for this before it takes its first message, so that a cold start that fails
        on a busy machine does not use up one of the message's receives (and send it to the dead-letter queue).
        """
        while not stopping.is_set():
            try:
                container = self._acquire()
            except RuntimeError:  # the pool is shut down
                return False
            try:
                if container.process is not None:
                    return True
                error = container.start()
                if error is None:
                    return True
                self._write(f"init failed: {error['errorType']}: {error['errorMessage']}; trying again")
            finally:
                self._release(container)
            stopping.wait(retry_s)
        return False

    def close(self) -> None:
        self.request_close()
        self.wait_closed()

    def request_close(self) -> None:
        """Stop taking events and ask every container to exit; ``wait_closed`` waits for them."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
            containers = list(self._all)
        for container in containers:
            container.request_stop()

    def wait_closed(self, deadline: float | None = None) -> None:
        """Wait for the containers to exit, until ``deadline`` (monotonic) at the latest; then kill the rest.

        One deadline for every container, not 2 s each: a container still importing its handler does not
        read its stop request, and several of them would otherwise add up.
        """
        deadline = time.monotonic() + 2 if deadline is None else deadline
        with self._ready:
            containers = list(self._all)
        for container in containers:
            container.wait_stopped(max(0.0, deadline - time.monotonic()))

    def _acquire(self) -> Container:
        with self._ready:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.spec.logical_id} is shut down")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.max_containers:
                    container = Container(self.spec, self.env, self._write, self.arn)
                    self._all.add(container)
                    return container
                self._ready.wait()

    def _release(self, container: Container) -> None:
        with self._ready:
            if container.alive and not self._closed:
                self._idle.append(container)
            else:
                self._all.discard(container)
            self._ready.notify()
        if not container.alive:
            container.stop()

    def _write(self, line: str) -> None:
        sink = self._sink or sys.stderr
        with self._sink_lock:
            sink.write(f"{self.spec.logical_id} | {line}\n")
            sink.flush()
