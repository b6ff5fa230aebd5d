"""The ``python -m local`` commands: up, invoke, demo, close-month, print-run, sweep, debit-run, debit-results,
reminders, bank-statement, token.

``up`` prints one JSON line first (for scripts), then logs to stderr. The
other commands act on the stack that ``up`` recorded in ``.local/stack.json``
(or in ``--state``), or on ``--endpoint``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from pathlib import Path

from local import debits
from local.client import SignedSession
from local.stack import (
    DEFAULT_REGION,
    DEFAULT_STATE,
    DEFAULT_TEMPLATE,
    LocalStack,
    attach,
    close_month_on_running_stack,
    invoke_once,
    print_run_on_running_stack,
    read_state,
    reminders_on_running_stack,
    stop_signals,
    sweep_on_running_stack,
)
from local.template import Template, TemplateError
from local.tokens import customer_token

NOT_YET = 2  # exit status of a command the template does not support yet


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--parameter wants NAME=VALUE, got {pair!r}")
        parameters[name] = value
    return parameters


def up(args: argparse.Namespace) -> int:
    if args.dynamodb_endpoint and not args.endpoint:
        raise SystemExit("--dynamodb-endpoint goes with --endpoint (without it, up starts both moto servers itself)")
    stopping = stop_signals()  # before the start: a SIGTERM meanwhile stops the stack once it is up
    stack = LocalStack(
        args.template,
        port=args.port,
        endpoint=args.endpoint,
        dynamodb_endpoint=args.dynamodb_endpoint,
        region=args.region,
        state_path=args.state,
        parameters=_parameters(args.parameter),
        async_retry_scale=args.async_retry_scale,
    )
    stack.start()
    try:
        sys.stdout.write(json.dumps(stack.config) + "\n")
        sys.stdout.flush()
        logging.getLogger("local").info(
            "serving %s (AWS endpoint %s, DynamoDB %s); stop with Ctrl-C or SIGTERM",
            stack.config["url"],
            stack.endpoint,
            stack.dynamodb_endpoint or "the same",
        )
        if lost := stack.serve(stopping):
            logging.getLogger("local").error("%s; stopping (start `up` again for a fresh stack)", lost)
            return 1
        logging.getLogger("local").info("stopping")
    finally:
        stack.stop()
    return 0


def invoke(args: argparse.Namespace) -> int:
    event = json.loads(Path(args.event).read_text(encoding="utf-8")) if args.event != "-" else json.load(sys.stdin)
    invocation = invoke_once(args.template, args.function, event, endpoint=args.endpoint, state_path=args.state)
    if invocation.ok:
        print(json.dumps(invocation.result, ensure_ascii=False, indent=2))
        return 0
    print(json.dumps(invocation.error, ensure_ascii=False, indent=2))
    return 1


def demo(args: argparse.Namespace) -> int:
    from local.demo import run

    return run(args.template, out=Path(args.out), serve=args.serve)


def close_month(args: argparse.Namespace) -> int:
    template = Template.load(args.template)
    if not template.functions_with_events("Schedule", "ScheduleV2"):
        print("close-month is not yet available: the template has no scheduled month-close function", file=sys.stderr)
        return NOT_YET
    return _on_running_stack(close_month_on_running_stack, args, args.month)


def print_run(args: argparse.Namespace) -> int:
    try:
        date.fromisoformat(args.date)
    except ValueError:
        raise SystemExit(f"print-run wants a date YYYY-MM-DD, got {args.date!r}") from None
    return _on_running_stack(print_run_on_running_stack, args, args.date)


def reminders(args: argparse.Namespace) -> int:
    return _on_running_stack(reminders_on_running_stack, args, _date(args.date, "reminders"))


def bank_statement(args: argparse.Namespace) -> int:
    answer = _operator(args).post("/v1/bank-statements", data=Path(args.file).read_bytes(), headers=debits.OCTET_STREAM)
    print(json.dumps(answer.json(), ensure_ascii=False, indent=2))
    return 0 if answer.status_code in (200, 202) else 1


def sweep(args: argparse.Namespace) -> int:
    given = {} if args.grace_seconds is None else {"grace_seconds": args.grace_seconds}
    return _on_running_stack(sweep_on_running_stack, args, given)


def _operator(args: argparse.Namespace) -> SignedSession:
    state = read_state(args.state)
    if state is None:
        raise SystemExit(f"no running local stack recorded in {args.state}; start `python -m local up` first")
    return SignedSession.from_config(state, principal="operator")


def _date(text: str, command: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise SystemExit(f"{command} wants a date YYYY-MM-DD, got {text!r}") from None


def debit_run(args: argparse.Namespace) -> int:
    progress = lambda line: print(line, file=sys.stderr)  # noqa: E731
    ok, run = debits.debit_run(_operator(args), _date(args.date, "debit-run"), Path(args.out), progress=progress)
    print(json.dumps(run, ensure_ascii=False, indent=2))
    return 0 if ok else 1


def debit_results(args: argparse.Namespace) -> int:
    body = Path(args.file).read_bytes()
    ok, answer = debits.debit_results(_operator(args), _date(args.date, "debit-results"), body)
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0 if ok else 1


def _on_running_stack(job, args: argparse.Namespace, when: object) -> int:
    """Run a scheduled job on the stack ``up`` started, progress on stderr, its JSON report on stdout."""
    report = job(
        args.template,
        when,
        args.state,
        args.timeout,
        progress=lambda line: print(line, file=sys.stderr),
        endpoint=args.endpoint,
    )
    print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    return 0 if report.ok else 1


def token(args: argparse.Namespace) -> int:
    template = Template.load(args.template)
    jwt_apis = [
        api.logical_id
        for api in template.http_apis().values()
        if any("JwtConfiguration" in item for item in (api.auth.get("Authorizers") or {}).values())
    ]
    if not jwt_apis:
        print("token is not yet available: the template has no API with a JWT authorizer", file=sys.stderr)
        return NOT_YET
    stack = attach(args.template, args.endpoint, args.state)
    print(customer_token(stack.template, stack.resolver, stack.client("cognito-idp"), args.account_id))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0])
    root.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="the SAM template (default: %(default)s)")
    root.add_argument("-v", "--verbose", action="store_true", help="log every moto and gateway detail")
    commands = root.add_subparsers(dest="command", required=True)

    def with_state(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument(
            "--state", default=str(DEFAULT_STATE), help="the stack's state file (default: %(default)s)"
        )
        return command

    command = with_state(commands.add_parser("up", help="run the stack: moto, resources, functions and HTTP APIs"))
    command.add_argument("--port", type=int, default=3000, help="HTTP port on 127.0.0.1; 0 picks a free one")
    command.add_argument("--endpoint", help="use this AWS-compatible endpoint instead of starting moto")
    command.add_argument(
        "--dynamodb-endpoint", help="with --endpoint: DynamoDB and its streams are served here (default: --endpoint)"
    )
    command.add_argument("--region", default=DEFAULT_REGION)
    command.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="override a template parameter"
    )
    command.add_argument(
        "--async-retry-scale",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="for tests: multiply Lambda's asynchronous retry delays (1 and 2 minutes) by FACTOR; refused when the"
        " retry span would no longer outlast a lease's ttl (default: %(default)s)",
    )
    command.set_defaults(run=up)

    command = with_state(commands.add_parser("invoke", help="invoke one function once, like `sam local invoke`"))
    command.add_argument("function", help="the function's logical id, e.g. RecordCountsFunction")
    command.add_argument("--event", "-e", required=True, help="event JSON file, or - for stdin")
    command.add_argument("--endpoint", help="the AWS-compatible endpoint, if not the running stack's")
    command.set_defaults(run=invoke)

    command = commands.add_parser("demo", help="seed accounts, report a month of counts, print the usage")
    command.add_argument("--out", default="out", help="where the month's documents go (default: %(default)s)")
    command.add_argument(
        "--serve", action="store_true", help="keep the stack serving on port 3000 afterwards, until Ctrl-C"
    )
    command.set_defaults(run=demo)

    command = with_state(commands.add_parser("close-month", help="run the scheduled month close and wait for it"))
    command.add_argument("month", help="YYYY-MM")
    command.add_argument("--endpoint", help="the AWS-compatible endpoint of the `up` whose consumers finish the close")
    command.add_argument("--timeout", type=float, default=600, help="seconds to wait for the fan-out to finish")
    command.set_defaults(run=close_month)

    command = with_state(
        commands.add_parser("print-run", help="run the daily print schedule for a day and wait for its batches")
    )
    command.add_argument("date", help="YYYY-MM-DD, the print (posting) day")
    command.add_argument("--endpoint", help="the AWS-compatible endpoint of the `up` whose consumers write the batches")
    command.add_argument("--timeout", type=float, default=600, help="seconds to wait for the batches to be written")
    command.set_defaults(run=print_run)

    command = with_state(
        commands.add_parser("sweep", help="run the delivery sweep (the rate schedules) now and wait for what it sends")
    )
    command.add_argument(
        "--grace-seconds", type=int, help="announce what has waited this long (default: the function's own grace)"
    )
    command.add_argument("--endpoint", help="the AWS-compatible endpoint of the `up` whose consumers deliver")
    command.add_argument("--timeout", type=float, default=600, help="seconds to wait for the deliveries to finish")
    command.set_defaults(run=sweep)

    command = with_state(
        commands.add_parser("debit-run", help="make a debit date's run as the operator, and save its request file")
    )
    command.add_argument("date", help="YYYY-MM-DD, the debit date")
    command.add_argument(
        "--out", default="out", help="the request file goes under OUT/debit-runs/ (default: %(default)s)"
    )
    command.set_defaults(run=debit_run)

    command = with_state(commands.add_parser("debit-results", help="upload the bank's result file of a debit run"))
    command.add_argument("date", help="YYYY-MM-DD, the debit date")
    command.add_argument("file", help="the bank's result file (Zengin 91), as it came")
    command.set_defaults(run=debit_results)

    command = with_state(
        commands.add_parser("reminders", help="run the daily reminder schedule as on a day and wait for what it sends")
    )
    command.add_argument("date", help="YYYY-MM-DD, the day to run as")
    command.add_argument("--endpoint", help="the AWS-compatible endpoint of the `up` whose consumers send")
    command.add_argument("--timeout", type=float, default=600, help="seconds to wait for the pages to finish")
    command.set_defaults(run=reminders)

    command = with_state(
        commands.add_parser("bank-statement", help="upload a bank file (Zengin 01 or 03) as the operator")
    )
    command.add_argument("file", help="the bank's file, as it came")
    command.set_defaults(run=bank_statement)

    command = with_state(commands.add_parser("token", help="print a customer token for an account"))
    command.add_argument("account_id")
    command.add_argument("--endpoint", help="the AWS-compatible endpoint, if not the running stack's")
    command.set_defaults(run=token)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return args.run(args)
    except (TemplateError, RuntimeError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
