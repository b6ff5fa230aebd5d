"""The in-process moto server that stands in for AWS, with DynamoDB's per-item atomicity.

moto's ``ThreadedMotoServer`` serves each request on its own thread, and moto
evaluates a DynamoDB condition and applies the write as separate Python
steps, with nothing but the GIL between them. Two concurrent conditional
updates of one item could then both pass their conditions and the lower one
land last, which DynamoDB never allows. It is rare (a stress test of 16
threads did not hit it), but the project's correctness rests on conditional
writes (the month's peak), so this server runs DynamoDB requests one at a
time. That costs little, since moto is bound by the GIL anyway. Other
services stay concurrent: an SQS long poll must not hold up the tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class SerialDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, everything else passes straight through."""

    def __init__(self, app: Callable):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # Consume the response inside the lock, so the write is complete before the next request.
            return list(self.app(environ, start_response))


class _Forgetful(list):
    """A list that keeps nothing: moto's record of every instance of a model, for a model it makes per request."""

    def append(self, _: object) -> None:
        pass


def forget_per_request_models() -> None:
    """Stop moto from keeping every DynamoDB item copy, stream record and shard iterator it ever made.

    moto tracks each model instance for its dashboard (``/moto-api/data.json``) and never lets go: every
    DynamoDB write leaves item copies behind (two with a stream), and every GetRecords a new iterator. In a
    long-running local stack that is a leak, and ``data.json`` (which the tests and the demo read SES
    messages from) grows slower with every write. Nothing reads these models from the dashboard.
    """
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord
    from moto.dynamodbstreams.models import ShardIterator

    for model in (Item, StreamRecord, ShardIterator):
        model.instances_tracked = _Forgetful()


class LocalMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` on 127.0.0.1 (port 0 picks a free port), quiet, with serial DynamoDB."""

    def __init__(self, port: int = 0):
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)

    def _server_entry(self) -> None:
        forget_per_request_models()
        app = SerialDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
