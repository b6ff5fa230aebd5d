"""The local stack: moto, the template's resources, its functions and its HTTP APIs, started and stopped together.

``LocalStack`` is what ``python -m local up`` and ``python -m local demo``
run. Starting it:

1. starts an in-process moto server on a free port, and DynamoDB's own in
   a second process (or uses ``endpoint``, and ``dynamodb_endpoint`` if given);
2. names every resource (``local.resources.plan``) and creates the tables,
   buckets, queues and buses from the template's own properties;
3. resolves each function's environment and gives it a pool of warm
   containers (``local.runtime``);
4. binds the HTTP gateway, with each route's auth taken from its API;
5. starts the queue consumers and event rules (``local.event_sources``);
6. records where everything is in the state file, so ``invoke``,
   ``close-month`` and ``token`` can act on the running stack from another
   process (``attach``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import string
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config

from local import event_sources
from local.authorizers import IamAuthorizer, IamPrincipal, authorizer_for
from local.event_sources import (
    CloseReport,
    PrintReport,
    RuleSource,
    ScheduleClock,
    SqsSource,
    StreamPoller,
    SweepReport,
    buckets_of,
    create_rule_sources,
    dead_letter_queues,
    schedules,
    sqs_sources,
    start_pollers,
    start_stream_pollers,
    stream_sources,
)
from local.http_gateway import BoundRoute, HttpGateway
from local.iam_policy import Policy, PolicyError
from local.moto_backend import LocalMotoServer, MotoProcess
from local.resources import ResourceMaker, plan, ses_identities, verify_ses_identities
from local.retry_bounds import check as check_retry_bounds
from local.runtime import AwsSettings, FunctionPool, Invocation
from local.template import FunctionSpec, Physical, Pseudo, Resolver, Template, TemplateError
from local.tokens import customer_token

log = logging.getLogger("local.stack")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "template.yaml"
DEFAULT_STATE = ROOT / ".local" / "stack.json"
DEFAULT_REGION = "ap-northeast-1"
DEFAULT_ACCOUNT = "123456789012"  # moto's account

# The local IAM callers, and the managed policy of template.yaml each is held to (as if attached to
# its role). The platform's key pair is also the one the functions and the CLI use on the AWS endpoint.
PRINCIPAL_POLICIES = {"platform": "PlatformCallerPolicy", "operator": "OperatorPolicy"}


def new_credentials() -> tuple[str, str]:
    """A fresh local key pair: only requests signed with it get through the AWS_IAM routes."""
    alphabet = string.ascii_uppercase + string.digits
    return "AKIALOCAL" + "".join(secrets.choice(alphabet) for _ in range(11)), secrets.token_urlsafe(30)


def default_stack_name(template: Template) -> str:
    try:
        import tomllib

        project = tomllib.loads((template.root / "pyproject.toml").read_text())["project"]["name"]
    except (OSError, KeyError, ValueError):
        project = template.root.name
    return f"{project}-local"


def aws_client(service: str, endpoint: str, region: str, access_key: str, secret_key: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )


def client_for(service: str, aws: AwsSettings) -> Any:
    """A client of ``service`` on the endpoint that serves it, as the stack's key pair."""
    return aws_client(service, aws.endpoint_for(service), aws.region, aws.access_key, aws.secret_key)


def account_of(endpoint: str, region: str, access_key: str, secret_key: str) -> str:
    try:
        return aws_client("sts", endpoint, region, access_key, secret_key).get_caller_identity()["Account"]
    except Exception:  # an endpoint without STS: fall back to moto's account
        return DEFAULT_ACCOUNT


def stop_signals() -> threading.Event:
    """An event that Ctrl-C and SIGTERM set, instead of ending the process before the stack is stopped."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


class LocalStack:
    def __init__(
        self,
        template_path: Path | str = DEFAULT_TEMPLATE,
        port: int = 3000,
        endpoint: str | None = None,
        region: str = DEFAULT_REGION,
        state_path: Path | str | None = DEFAULT_STATE,
        parameters: dict[str, str] | None = None,
        log_sink: TextIO | None = None,
        max_containers: int = 4,
        dynamodb_endpoint: str | None = None,
        async_retry_scale: float = 1.0,
    ):
        self.template = Template.load(template_path, parameters)
        if problems := check_retry_bounds(self.template, async_retry_scale):
            raise TemplateError(f"--async-retry-scale {async_retry_scale:g} is too fast: " + "; ".join(problems))
        self.async_retry_scale = async_retry_scale
        self.port = port
        self.external_endpoint = endpoint
        self.external_dynamodb_endpoint = dynamodb_endpoint
        self.region = region
        self.state_path = Path(state_path) if state_path else None
        self.log_sink = log_sink
        self.max_containers = max_containers
        self.access_key, self.secret_key = new_credentials()
        self.operator_access_key, self.operator_secret_key = new_credentials()
        self.moto: LocalMotoServer | None = None
        self.dynamodb_moto: MotoProcess | None = None
        self.endpoint = ""
        self.dynamodb_endpoint: str | None = None
        self.account_id = DEFAULT_ACCOUNT
        self.resolver: Resolver | None = None
        self.functions: dict[str, FunctionSpec] = {}
        self.pools: dict[str, FunctionPool] = {}
        self.gateway: HttpGateway | None = None
        self.sources: list[SqsSource | RuleSource] = []
        self._stopping = threading.Event()
        self._pollers: list[threading.Thread] = []
        self.stream_pollers: list[StreamPoller] = []

    # -------------------------------------------------------------- lifecycle

    def start(self) -> dict:
        self._check_no_other_stack()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.config

    def _start(self) -> None:
        if self.external_endpoint:
            self.endpoint = self.external_endpoint.rstrip("/")
            self.dynamodb_endpoint = (self.external_dynamodb_endpoint or "").rstrip("/") or None
        else:
            self.dynamodb_moto = MotoProcess().launch()  # it starts while this process starts its own
            self.moto = LocalMotoServer()
            self.moto.start()
            self.endpoint = self.moto.url
            self.dynamodb_endpoint = self.dynamodb_moto.wait_ready()
        log.info("AWS endpoint %s (DynamoDB %s)", self.endpoint, self.dynamodb_endpoint or "the same")
        self.account_id = account_of(self.endpoint, self.region, self.access_key, self.secret_key)
        pseudo = Pseudo(self.region, self.account_id, default_stack_name(self.template))
        physical = plan(self.template, pseudo, self.endpoint)
        self.resolver = Resolver(self.template, pseudo, physical)
        created = ResourceMaker(self.template, self.resolver, self.client, self.region).create_all()
        log.info("created %d resources: %s", len(created), ", ".join(created) or "none")
        verify_ses_identities(ses_identities(self.template, self.resolver), self.client("ses"))

        self.gateway = self._bind_gateway()
        self.functions = self.template.functions(self.resolver)
        self.pools = {
            logical_id: FunctionPool(spec, self.aws, self.log_sink, self.max_containers)
            for logical_id, spec in self.functions.items()
        }
        self.gateway.start()
        self._start_event_sources()
        self._write_state()
        for pool in self.pools.values():
            threading.Thread(target=pool.warm, name=f"warm-{pool.spec.logical_id}", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        # Containers are asked to exit first (each finishes the event in hand), so that a consumer still
        # waiting for its function's cold start gives up instead of holding the stop for the whole init.
        for pool in self.pools.values():  # all containers exit together, not one after another
            pool.request_close()
        deadline = time.monotonic() + 5  # one wait for every consumer
        for poller in self._pollers:
            poller.join(timeout=max(0.0, deadline - time.monotonic()))
        self._pollers = []
        if self.gateway:
            self.gateway.stop()
            self.gateway = None
        deadline = time.monotonic() + 2  # one grace period for every container of every function
        for pool in self.pools.values():
            pool.wait_closed(deadline)
        self.pools = {}
        if self.moto:
            self.moto.stop()
            self.moto = None
        if self.dynamodb_moto:
            self.dynamodb_moto.stop()
            self.dynamodb_moto = None
        self._remove_state()

    def serve(self, stopping: threading.Event) -> str | None:
        """Serve until ``stopping`` is set (None), or until part of the stack dies under it (what died)."""
        while not stopping.wait(0.5):
            if lost := self.lost():
                return lost
        return None

    def lost(self) -> str | None:
        """What of the stack died under it, or None. DynamoDB's moto process holds every table in its memory,
        so once it is gone the stack cannot go on (a fresh one in its place would serve empty tables)."""
        if self.dynamodb_moto and (status := self.dynamodb_moto.exit_status()) is not None:
            pid = self.dynamodb_moto.pid
            return f"DynamoDB's moto process (pid {pid}) exited with status {status}: its tables are gone"
        return None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- use

    @property
    def aws(self) -> AwsSettings:
        return AwsSettings(
            self.endpoint, self.region, self.access_key, self.secret_key, self.account_id, self.dynamodb_endpoint
        )

    @property
    def physical(self) -> dict[str, Physical]:
        return self.resolver.physical if self.resolver else {}

    @property
    def config(self) -> dict:
        """The first line ``up`` prints: where the API and AWS endpoint are, and the credentials to sign with."""
        return {
            "url": self.gateway.url if self.gateway else None,
            "endpoint": self.endpoint,
            "dynamodb_endpoint": self.dynamodb_endpoint,
            "region": self.region,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "operator_access_key_id": self.operator_access_key,
            "operator_secret_access_key": self.operator_secret_key,
        }

    def client(self, service: str) -> Any:
        return client_for(service, self.aws)

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        if logical_id not in self.pools:
            raise KeyError(f"no function {logical_id} on the local stack (functions: {', '.join(self.pools)})")
        return self.pools[logical_id].invoke(event)

    # -------------------------------------------------------------- parts

    def _bind_gateway(self) -> HttpGateway:
        apis = self.template.http_apis()
        iam = IamAuthorizer(self._principals(), self.region, self.account_id)
        routes, seen = [], {}
        for route in self.template.routes():
            if not self.template.is_created(route.function, self.resolver):
                continue
            if route.route_key in seen:
                raise TemplateError(
                    f"{route.route_key} is served by both {seen[route.route_key]} and {route.api}; "
                    "the local stack serves every HttpApi on one port"
                )
            seen[route.route_key] = route.api
            api_id = self.physical[route.api].ref if route.api in self.physical else route.api.lower()[:10]
            authorizer = authorizer_for(route, apis[route.api], iam.for_api(api_id), self.resolver, self.endpoint)
            routes.append(BoundRoute(route, api_id, authorizer))
        gateway = HttpGateway(routes, self.invoke, self.account_id, port=self.port)
        for api in apis:
            if api in self.physical:
                self.physical[api].attributes["ApiEndpoint"] = gateway.url
        for route in routes:
            log.info("route %-52s -> %s", route.route.route_key, route.route.function)
        return gateway

    def _principals(self) -> list[IamPrincipal]:
        keys = {
            "platform": (self.access_key, self.secret_key),
            "operator": (self.operator_access_key, self.operator_secret_key),
        }
        return [
            IamPrincipal(name, *keys[name], self._managed_policy(policy)) for name, policy in PRINCIPAL_POLICIES.items()
        ]

    def _managed_policy(self, logical_id: str) -> Policy:
        """A managed policy of the template, its ARNs resolved for the local stack; none means every route is denied."""
        resource = self.template.resources.get(logical_id)
        if not resource or resource["Type"] != "AWS::IAM::ManagedPolicy":
            log.warning("no AWS::IAM::ManagedPolicy %s in the template: its principal may call no route", logical_id)
            return Policy()
        document = self.resolver.resolve((resource.get("Properties") or {}).get("PolicyDocument"))
        try:
            return Policy.parse(document, name=logical_id)
        except PolicyError as error:
            raise TemplateError(str(error)) from error

    def _start_event_sources(self) -> None:
        """Queue consumers and event rules run all the time; schedules run on demand (``close_month``)."""
        stack_name = default_stack_name(self.template)
        self.sources = [
            *sqs_sources(self.functions, self.resolver),
            *create_rule_sources(self.functions, self.resolver, self.client, stack_name, self.async_retry_scale),
        ]
        self._pollers = start_pollers(
            self.sources,
            lambda: self.client("sqs"),
            self.invoke,
            self.region,
            self._stopping,
            ready=lambda function: self.pools[function].wait_ready(self._stopping),
        )
        threads, self.stream_pollers = start_stream_pollers(
            stream_sources(self.functions, self.resolver), self.client, self.invoke, self.region, self._stopping
        )
        self._pollers += threads
        self._pollers += ScheduleClock(schedules(self.functions, self.resolver), self.invoke, self._stopping).start()
        handled = {"HttpApi", "SQS", "DynamoDB", "EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2"}
        for spec in self.functions.values():
            for event in spec.events:
                if event.type not in handled:
                    log.warning("%s event %s (%s) is not run locally yet", spec.logical_id, event.name, event.type)

    @property
    def consumed_queues(self) -> list[str]:
        return [source.queue_url for source in self.sources]

    def customer_token(self, account_id: str) -> str:
        """An ID token for ``account_id``'s customer, for the template's JWT routes."""
        return customer_token(self.template, self.resolver, self.client("cognito-idp"), account_id)

    def close_month(
        self, month: str | None = None, timeout_s: float = 600, progress: Callable[[str], None] | None = None
    ) -> CloseReport:
        """Run the month close as its schedule would, and wait for everything it sets off."""
        return event_sources.close_month(
            month,
            schedules(self.functions, self.resolver),
            self.invoke,
            self.client("sqs"),
            self.consumed_queues,
            dead_letter_queues(self.functions, self.resolver, self.template.resources),
            timeout_s,
            progress,
        )

    def sweep(
        self, given: dict | None = None, timeout_s: float = 600, progress: Callable[[str], None] | None = None
    ) -> SweepReport:
        """Run the ``rate(…)`` schedules (the delivery sweep) now, and wait for what they set off."""
        return event_sources.sweep(
            given or {},
            schedules(self.functions, self.resolver),
            self.invoke,
            self.client("sqs"),
            self.consumed_queues,
            dead_letter_queues(self.functions, self.resolver, self.template.resources),
            timeout_s,
            progress,
        )

    def run_schedule(
        self, event: str, day: str, timeout_s: float = 600, progress: Callable[[str], None] | None = None
    ) -> SweepReport:
        """Run the schedule named ``event`` as on ``day``, and wait for what it sets off."""
        return event_sources.run_schedule(
            event,
            day,
            schedules(self.functions, self.resolver),
            self.invoke,
            self.client("sqs"),
            self.consumed_queues,
            dead_letter_queues(self.functions, self.resolver, self.template.resources),
            timeout_s,
            progress,
        )

    def print_run(self, day: str, timeout_s: float = 600, progress: Callable[[str], None] | None = None) -> PrintReport:
        """Run the daily print schedule for ``day`` and wait until its batches are written."""
        return event_sources.print_run(
            day,
            schedules(self.functions, self.resolver),
            self.invoke,
            self.client("sqs"),
            self.client("s3"),
            buckets_of(self.physical),
            self.consumed_queues,
            dead_letter_queues(self.functions, self.resolver, self.template.resources),
            timeout_s,
            progress,
        )

    # -------------------------------------------------------------- state file

    def _check_no_other_stack(self) -> None:
        if not self.state_path or not self.state_path.exists():
            return
        try:
            pid = json.loads(self.state_path.read_text())["pid"]
            os.kill(pid, 0)
        except (OSError, ValueError, KeyError, TypeError):
            return  # a stale file from a stack that is gone
        raise RuntimeError(
            f"another local stack (pid {pid}) is running and recorded in {self.state_path}; "
            "stop it first or pass --state for a second one"
        )

    def _write_state(self) -> None:
        if not self.state_path:
            return
        state = {
            **self.config,
            "account_id": self.account_id,
            "pid": os.getpid(),
            "dynamodb_pid": self.dynamodb_moto.pid if self.dynamodb_moto else None,
            "template": str(self.template.path),
            "resources": {logical_id: asdict(item) for logical_id, item in self.physical.items()},
            "consumed_queues": self.consumed_queues,
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2, ensure_ascii=False))
        temporary.replace(self.state_path)

    def _remove_state(self) -> None:
        if not self.state_path or not self.state_path.exists():
            return
        try:
            if json.loads(self.state_path.read_text()).get("pid") == os.getpid():
                self.state_path.unlink()
        except (OSError, ValueError):
            pass


def read_state(path: Path | str = DEFAULT_STATE) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


@dataclass
class AttachedStack:
    """A stack started elsewhere (by ``up``, or any endpoint), seen from another process."""

    template: Template
    aws: AwsSettings
    resolver: Resolver
    running: bool  # an ``up`` process is serving it (and consuming its queues)

    def client(self, service: str) -> Any:
        return client_for(service, self.aws)


def attach(
    template_path: Path | str, endpoint: str | None = None, state_path: Path | str = DEFAULT_STATE
) -> AttachedStack:
    """The running stack recorded in ``state_path``, or the template's resources as named on ``endpoint``."""
    template = Template.load(template_path)
    state = read_state(state_path)
    if endpoint is None and state is None:
        raise RuntimeError(
            f"no running local stack recorded in {state_path}; start `python -m local up` or pass --endpoint"
        )
    if endpoint is None or (state and state["endpoint"] == endpoint.rstrip("/")):
        aws = AwsSettings.from_config(state)
        physical = {key: Physical(**value) for key, value in state["resources"].items()}
        pseudo = Pseudo(aws.region, aws.account_id, default_stack_name(template))
        return AttachedStack(template, aws, Resolver(template, pseudo, physical), _alive(state.get("pid")))
    access_key = os.environ.get("AWS_ACCESS_KEY_ID", "local")
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "localsecret")
    region = os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)
    account = account_of(endpoint, region, access_key, secret_key)
    aws = AwsSettings(endpoint.rstrip("/"), region, access_key, secret_key, account)
    pseudo = Pseudo(region, account, default_stack_name(template))
    return AttachedStack(template, aws, Resolver(template, pseudo, plan(template, pseudo, aws.endpoint)), False)


def _alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def invoke_once(
    template_path: Path | str,
    logical_id: str,
    event: Any,
    endpoint: str | None = None,
    state_path: Path | str = DEFAULT_STATE,
    log_sink: TextIO | None = None,
) -> Invocation:
    """``sam local invoke`` without containers: one cold container, one event, against the running stack."""
    stack = attach(template_path, endpoint, state_path)
    spec = stack.template.function(logical_id, stack.resolver)
    pool = FunctionPool(spec, stack.aws, log_sink, max_containers=1)
    try:
        return pool.invoke(event)
    finally:
        pool.close()


def _on_running_stack(
    template_path: Path | str, state_path: Path | str, endpoint: str | None, run: Callable[..., Any]
) -> Any:
    """Run schedules here, in containers of this process, and let ``up``'s consumers do the rest."""
    stack = attach(template_path, endpoint, state_path)
    if not stack.running:
        where = f"on {endpoint}" if endpoint else f"in {state_path}"
        raise RuntimeError(
            f"no running `python -m local up` {where}: its queue consumers finish the work; start it first"
        )
    functions = stack.template.functions(stack.resolver)
    pools: dict[str, FunctionPool] = {}

    def invoke(logical_id: str, event: Any) -> Invocation:
        if logical_id not in pools:
            pools[logical_id] = FunctionPool(functions[logical_id], stack.aws, max_containers=1)
        return pools[logical_id].invoke(event)

    try:
        return run(
            stack,
            functions,
            invoke,
            read_state(state_path).get("consumed_queues", []),
            dead_letter_queues(functions, stack.resolver, stack.template.resources),
        )
    finally:
        for pool in pools.values():
            pool.close()


def close_month_on_running_stack(
    template_path: Path | str,
    month: str | None,
    state_path: Path | str = DEFAULT_STATE,
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
    endpoint: str | None = None,
) -> CloseReport:
    """``close-month`` from another process: run the monthly schedule here, ``up``'s consumers issue and deliver."""

    def run(stack, functions, invoke, consumed, dead_letters) -> CloseReport:
        found = schedules(functions, stack.resolver)
        sqs = stack.client("sqs")
        return event_sources.close_month(month, found, invoke, sqs, consumed, dead_letters, timeout_s, progress)

    return _on_running_stack(template_path, state_path, endpoint, run)


def print_run_on_running_stack(
    template_path: Path | str,
    day: str,
    state_path: Path | str = DEFAULT_STATE,
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
    endpoint: str | None = None,
) -> PrintReport:
    """``print-run`` from another process: run the daily schedule here, ``up``'s consumers write the batches."""

    def run(stack, functions, invoke, consumed, dead_letters) -> PrintReport:
        return event_sources.print_run(
            day,
            schedules(functions, stack.resolver),
            invoke,
            stack.client("sqs"),
            stack.client("s3"),
            buckets_of(stack.resolver.physical),
            consumed,
            dead_letters,
            timeout_s,
            progress,
        )

    return _on_running_stack(template_path, state_path, endpoint, run)


def reminders_on_running_stack(
    template_path: Path | str,
    day: str,
    state_path: Path | str = DEFAULT_STATE,
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
    endpoint: str | None = None,
) -> SweepReport:
    """``reminders`` from another process: run ReminderSchedule as on ``day``, ``up``'s consumers send the pages."""

    def run(stack, functions, invoke, consumed, dead_letters) -> SweepReport:
        found = schedules(functions, stack.resolver)
        sqs = stack.client("sqs")
        return event_sources.run_schedule(
            "ReminderSchedule", day, found, invoke, sqs, consumed, dead_letters, timeout_s, progress
        )

    return _on_running_stack(template_path, state_path, endpoint, run)


def sweep_on_running_stack(
    template_path: Path | str,
    given: dict,
    state_path: Path | str = DEFAULT_STATE,
    timeout_s: float = 600,
    progress: Callable[[str], None] | None = None,
    endpoint: str | None = None,
) -> SweepReport:
    """``sweep`` from another process: run the rate schedules here, ``up``'s consumers deliver what they announce."""

    def run(stack, functions, invoke, consumed, dead_letters) -> SweepReport:
        found = schedules(functions, stack.resolver)
        sqs = stack.client("sqs")
        return event_sources.sweep(given, found, invoke, sqs, consumed, dead_letters, timeout_s, progress)

    return _on_running_stack(template_path, state_path, endpoint, run)
