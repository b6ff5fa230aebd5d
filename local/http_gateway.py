"""Serve the template's HttpApi routes on 127.0.0.1 the way API Gateway HTTP APIs do.

For each request: pick the most specific route (literal segments beat
``{param}``, which beats ``{proxy+}``; a method beats ``ANY``), run its
authorizer, build the **payload format 2.0** event, invoke the function and
turn its result back into HTTP. What API Gateway itself answers, this answers
too, with the same bodies: 404 ``{"message":"Not Found"}`` for no route, 403
``{"message":"Forbidden"}`` for a bad signature, 500 ``{"message":"Internal
Server Error"}`` when the function fails or returns something unusable, 413
for a body over 10 MB.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.authorizers import Authorizer, Denied, IncomingRequest
from local.runtime import Invocation
from local.template import Route

log = logging.getLogger("local.gateway")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
# Kept percent-encoded in rawPath so a decoded segment can never turn into a separator.
_PATH_UNSAFE = {"%": "%25", "/": "%2F", "?": "%3F", "#": "%23"}


@dataclass(frozen=True)
class BoundRoute:
    """A template route with what it needs at run time: its API's id and its authorizer."""

    route: Route
    api_id: str
    authorizer: Authorizer

    @property
    def segments(self) -> list[str]:
        return [] if self.route.path == "$default" else self.route.path.strip("/").split("/")

    def match(self, method: str, segments: list[str]) -> tuple[tuple, dict[str, str]] | None:
        """A sort key (lower is more specific) and the path parameters, or None if no match."""
        if self.route.method not in ("ANY", method):
            return None
        if self.route.path == "$default":
            return (9,), {}
        params: dict[str, str] = {}
        kinds = []
        template = self.segments
        for index, part in enumerate(template):
            if part.startswith("{") and part.endswith("+}"):
                rest = segments[index:]
                if not rest or index != len(template) - 1:
                    return None
                params[part[1:-2]] = "/".join(rest)
                kinds.append(2)
                break
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                if not segments[index]:
                    return None
                params[part[1:-1]] = segments[index]
                kinds.append(1)
            elif part == segments[index]:
                kinds.append(0)
            else:
                return None
        else:
            if len(segments) != len(template):
                return None
        return (*kinds, self.route.method == "ANY"), params


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str) -> Reply:
    return Reply(status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode())


def http_api_event(
    bound: BoundRoute,
    request: IncomingRequest,
    segments: list[str],
    params: dict[str, str],
    authorizer: dict | None,
    context: dict,
) -> dict:
    """The API Gateway HTTP API payload format 2.0 event for one request."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    headers.setdefault("x-forwarded-for", context["source_ip"])
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", str(context["port"]))
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")

    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    raw_path = "/" + "/".join("".join(_PATH_UNSAFE.get(char, char) for char in segment) for segment in segments)
    route_key = "$default" if bound.route.path == "$default" else bound.route.route_key
    now = time.time()
    request_context = {
        "accountId": context["account_id"],
        "apiId": bound.api_id,
        **({"authorizer": authorizer} if authorizer else {}),
        "domainName": context["host"],
        "domainPrefix": context["host"].split(".")[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": context["protocol"],
            "sourceIp": context["source_ip"],
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": context["request_id"],
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": request.raw_query,
        **({"cookies": cookies} if cookies else {}),
        "headers": headers,
        **({"queryStringParameters": query} if query else {}),
        "requestContext": request_context,
        **({"pathParameters": params} if params else {}),
        "isBase64Encoded": False,
    }
    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def function_reply(result: Any) -> Reply:
    """Turn a handler's return value into HTTP as HTTP APIs do (payload 2.0 response rules)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # A bare JSON value is the body of a 200 application/json response.
        return Reply(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body, validate=True)
    else:
        payload = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    return Reply(status, headers, payload)


class HttpGateway:
    """A ThreadingHTTPServer that routes to functions through ``invoke(function_logical_id, event)``."""

    def __init__(
        self,
        routes: list[BoundRoute],
        invoke: Callable[[str, dict], Invocation],
        account_id: str,
        port: int = 3000,
        host: str = "127.0.0.1",
    ):
        self.routes = routes
        self.invoke = invoke
        self.account_id = account_id
        self.server = ThreadingHTTPServer((host, port), _handler_class(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="http-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: IncomingRequest, host: str, source_ip: str, protocol: str) -> tuple[Reply, str]:
        request_id = base64.b64encode(secrets.token_bytes(10)).decode()[:14] + "="
        segments = [unquote(segment, errors="strict") for segment in request.raw_path.lstrip("/").split("/")]
        candidates = [
            (matched[0], bound, matched[1])
            for bound in self.routes
            if (matched := bound.match(request.method, segments)) is not None
        ]
        if not candidates:
            return gateway_error(404, "Not Found"), request_id
        _, bound, params = min(candidates, key=lambda candidate: candidate[0])
        try:
            authorizer = bound.authorizer.authorize(request)
        except Denied as denied:
            log.warning("%s %s denied: %s", request.method, request.raw_path, denied.reason)
            return gateway_error(denied.status, denied.message), request_id
        context = {
            "account_id": self.account_id,
            "host": host,
            "port": self.server.server_address[1],
            "protocol": protocol,
            "source_ip": source_ip,
            "request_id": request_id,
        }
        event = http_api_event(bound, request, segments, params, authorizer, context)
        invocation = self.invoke(bound.route.function, event)
        if not invocation.ok:
            error = invocation.error or {}
            log.error(
                "%s failed on %s: %s: %s",
                bound.route.function,
                bound.route.route_key,
                error.get("errorType"),
                error.get("errorMessage"),
            )
            return gateway_error(500, "Internal Server Error"), request_id
        try:
            return function_reply(invocation.result), request_id
        except (ValueError, TypeError, binascii.Error) as error:
            log.error("%s returned an unusable response: %s", bound.route.function, error)
            return gateway_error(500, "Internal Server Error"), request_id


def _handler_class(gateway: HttpGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "local-http-api"
        sys_version = ""

        def _serve(self) -> None:
            started = time.perf_counter()
            path, _, query = self.path.partition("?")
            try:
                body = self._read_body()
            except _BodyTooLarge:
                self.close_connection = True
                self._send(gateway_error(413, "Request Entity Too Large"), "")
                return
            except ValueError:
                self.close_connection = True
                self._send(gateway_error(400, "Bad Request"), "")
                return
            request = IncomingRequest(self.command, path, query, list(self.headers.items()), body)
            try:
                reply, request_id = gateway.handle(
                    request, self.headers.get("Host", ""), self.client_address[0], self.request_version
                )
            except UnicodeDecodeError:
                reply, request_id = gateway_error(404, "Not Found"), ""
            except Exception:
                log.exception("the local gateway failed on %s %s", self.command, self.path)
                reply, request_id = gateway_error(500, "Internal Server Error"), ""
            self._send(reply, request_id)
            log.info("%s %s %d %.0fms", self.command, self.path, reply.status, (time.perf_counter() - started) * 1000)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks, size = [], 0
                while True:
                    length = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if length == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    size += length
                    if size > MAX_BODY:
                        raise _BodyTooLarge
                    chunks.append(self.rfile.read(length))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError("negative Content-Length")
            if length > MAX_BODY:
                raise _BodyTooLarge
            return self.rfile.read(length)

        def _send(self, reply: Reply, request_id: str) -> None:
            self.send_response_only(reply.status, HTTPStatus(reply.status).phrase if _known(reply.status) else "")
            names = {name.lower() for name, _ in reply.headers}
            for name, value in reply.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                    self.send_header(name, value)
            self.send_header("Date", formatdate(usegmt=True))
            self.send_header("Content-Length", str(len(reply.body)))
            if request_id and "apigw-requestid" not in names:
                self.send_header("Apigw-Requestid", request_id)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def __getattr__(self, name: str):
            # Any other method (TRACE, QUERY, ...) reaches the router too, which answers 404 as API Gateway does.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

    return Handler


class _BodyTooLarge(Exception):
    pass


def _known(status: int) -> bool:
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return True
