"""The in-process moto server that stands in for AWS, with DynamoDB's per-item atomicity.

moto's ``ThreadedMotoServer`` serves requests on many threads, and moto
evaluates a DynamoDB condition and applies the write as separate Python
steps, with nothing but the GIL between them. Two concurrent conditional
updates of one item could then both pass their conditions and the lower one
land last, which DynamoDB never allows. It is rare (a stress test of 16
threads did not hit it), but the project's correctness rests on conditional
writes (the month's peak), so this server runs DynamoDB requests one at a
time. That costs little, since moto is bound by the GIL anyway. Other
services stay concurrent: an SQS long poll must not hold up the tables.

The local stack serves DynamoDB (and its streams) from a process of its own
(``MotoProcess``, which runs ``python -m local.moto_backend``).

Three changes to moto's private code remain, each listed with why and its
test in docs/local-moto.md: moto keeps no per-request model instances
(``forget_per_request_models``: a leak), a transaction backs up only the
items it names instead of every table (``patch_moto_transactions``: the
tests' session-long stacks would otherwise make each transaction slower than
the one before), and a Query of the table reads its partition, not every item
(``patch_moto_partition_queries``: DynamoDB's cost, which matching relies
on). They are written against one moto release, ``PINNED_MOTO``, and the
server refuses to start on any other.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import moto
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

# The patches below replace private moto symbols (listed, with why, in docs/local-moto.md); they are written
# against this release only. Another one may have moved what they replace, and would then fail quietly.
PINNED_MOTO = "5.2.5"


def require_pinned_moto(version: str | None = None) -> None:
    """Refuse to serve on any moto but the pinned one (``version``: the installed one), loudly, before a single
    patch is applied."""
    found = moto.__version__ if version is None else version
    if found != PINNED_MOTO:
        raise SystemExit(
            f"local.moto_backend patches moto {PINNED_MOTO}'s internals and found moto {found}: "
            f"install the pinned one (requirements/dev.txt) or review every patch against {found} first "
            "(docs/local-moto.md lists them)"
        )


class SerialDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, everything else passes straight through.

    It keeps how long the lock was held (``busy_s``) and how much of that the
    holding thread spent on the CPU (``cpu_s``): the close benchmark reports both.
    """

    def __init__(self, app: Callable):
        self.app = app
        self.lock = threading.Lock()
        self.busy_s = 0.0
        self.cpu_s = 0.0

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            started, cpu = time.perf_counter(), time.thread_time()
            # Consume the response inside the lock, so the write is complete before the next request.
            chunks = list(self.app(environ, start_response))
            self.cpu_s += time.thread_time() - cpu
            self.busy_s += time.perf_counter() - started
            return chunks


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


class _TablesNotCopied:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: a Table is "copied" as itself."""

    def __getattr__(self, name: str):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def patch_moto_transactions() -> None:
    """moto's TransactWriteItems backs up by deep-copying every table, stream records included: O(table) per call.

    The local tests' stacks live for the whole session, so each transaction would cost more than the one
    before: without this, 9 local test files on two workers took 88 s instead of 50 s, and the churn test's
    stream consumer no longer caught up in time (docs/local-moto.md). Here, in this process's moto only, the
    backup is made of the items the transaction names, and restored if it is cancelled, with the stream records
    its applied steps had added removed; the outcome of every request is unchanged (DynamoDB requests are
    serial). The integration tests' in-process moto uses it too (``tests/integration/conftest.py``).
    """
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "per_item_backup", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self, transact_items):
        backups, streams = [], {}
        for entry in transact_items:
            try:
                (op,) = entry.values()
                table = self.get_table(op["TableName"])
                names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
                key = op.get("Key") or {name: op["Item"][name] for name in names}
                hash_key, range_key = self.get_keys_value(table, key)
                backups.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
                if table.stream_shard is not None:  # a cancelled transaction leaves no stream record either
                    streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
            except Exception:  # a malformed entry: the original reports it
                continue
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(backups):
                if item is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is not None:
                    table.items[hash_key][range_key] = item
                else:
                    table.items[hash_key] = item
            for shard, count in streams.values():
                del shard.items[count:]
            raise

    transact_write_items.per_item_backup = True
    models.copy = _TablesNotCopied()
    backend.transact_write_items = transact_write_items


def patch_moto_partition_queries() -> None:
    """moto answers a Query of the base table by walking every item of the table for the partition: O(table).

    DynamoDB reads the one partition, and the code relies on it (matching a bank file reads each payer's
    account by key; its benchmark compares 1,000 and 10,000 accounts). Here, in this process's moto only, a
    base-table Query walks the partition's items alone; index queries are left as they are. The answer is the
    same items in the same order (``tests/local_stack/test_moto_backend.py`` compares it with stock moto's).
    Requests reach a table one at a time (``SerialDynamoDB``; the in-process tests make one at a time), so the
    partition is swapped in for the one call.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "by_partition", False):
        return
    original = Table.query
    index_at = list(inspect.signature(original).parameters).index("index_name") - 2  # in *args: after self, hash_key

    def query(self, hash_key, *args, **kwargs):
        index_name = args[index_at] if len(args) > index_at else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        partition = self.items.get(hash_key, {})  # not self.items[...]: a defaultdict would keep the empty one
        items = list(partition.values()) if self.range_key_attr else ([partition] if partition else [])
        self.all_items = lambda: items  # this call only: removed below
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query.by_partition = True
    Table.query = query


class QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's line per request on stderr (errors are still logged)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class LocalMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` on 127.0.0.1 (port 0 picks a free port), quiet, with serial DynamoDB.

    ``wrap`` (the benchmarks' request counter) wraps the whole app; ``patched=False`` serves moto without
    ``patch_moto_transactions``, for comparison (the tests check both answer alike).
    """

    def __init__(self, port: int = 0, wrap: Callable[[Callable], Callable] | None = None, patched: bool = True):
        require_pinned_moto()
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self.serial = SerialDynamoDB(DomainDispatcherApplication(create_backend_app))
        self.wrap = wrap or (lambda app: app)
        self.patched = patched

    def _server_entry(self) -> None:
        forget_per_request_models()
        if self.patched:
            patch_moto_transactions()
            patch_moto_partition_queries()
        app = self.wrap(self.serial)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the listening socket (moto's ``stop`` leaves it open, taking connections that
        nobody answers). Requests in flight, an SQS long poll, end on their own threads (daemon threads): the
        server's ``server_close`` would wait for them, so only the socket is closed."""
        super().stop()
        if self._server is not None:
            self._server.socket.close()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"


class MotoProcess:
    """A ``LocalMotoServer`` in a process of its own (``python -m local.moto_backend``), stopped by its PID.

    ``command`` runs something else that serves the same way (the benchmarks count its requests): it must
    print its URL as the first line of its output and stop on SIGTERM.
    """

    START_TIMEOUT_S = 60

    def __init__(self, command: list[str] | None = None):
        self.command = command or [sys.executable, "-m", "local.moto_backend"]
        self.process: subprocess.Popen | None = None
        self.url = ""

    def launch(self) -> MotoProcess:
        """Start the process; ``wait_ready`` reads its URL (so another server can start meanwhile)."""
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(self.command, cwd=root, env=env, stdout=subprocess.PIPE)
        return self

    def wait_ready(self) -> str:
        from local.processes import first_line

        line = first_line(self.process, self.START_TIMEOUT_S)
        if line is None:
            self.stop()
            raise RuntimeError(f"moto process {self.command} did not start (no URL on its output)")
        self.url = line.strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"moto process {self.command} answered {self.url!r}, not a local URL")
        return self.url

    def start(self) -> str:
        return self.launch().wait_ready()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exit_status(self) -> int | None:
        """The process's exit status once it has gone (by itself or killed), None while it runs."""
        return self.process.poll() if self.process else None

    def stop(self) -> None:
        if not self.process:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process = None


def serve(server: LocalMotoServer) -> None:
    """Run ``server`` until SIGTERM or SIGINT, or until the process that started it is gone (killed outright,
    it could not stop this one), its URL the first line of standard output."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    parent = os.getppid()
    server.start()
    try:
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5) and os.getppid() == parent:
            pass
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a local moto server (serial DynamoDB), its URL printed first")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    serve(LocalMotoServer(port=args.port))


if __name__ == "__main__":
    main()
