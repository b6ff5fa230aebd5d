"""The in-process moto server that stands in for AWS, with DynamoDB's per-item atomicity.

moto's ``ThreadedMotoServer`` serves requests on many threads (here cheroot's
pool, with keep-alive: ``KeepAliveServer``), and moto evaluates a DynamoDB
condition and applies the write as separate Python steps, with nothing but
the GIL between them. Two concurrent conditional
updates of one item could then both pass their conditions and the lower one
land last, which DynamoDB never allows. It is rare (a stress test of 16
threads did not hit it), but the project's correctness rests on conditional
writes (the month's peak), so this server runs DynamoDB requests one at a
time. That costs little, since moto is bound by the GIL anyway. Other
services stay concurrent: an SQS long poll must not hold up the tables.

A moto server is one process, so one core. The local stack serves DynamoDB
(and its streams) from a second one (``MotoProcess``, which runs
``python -m local.moto_backend``), so that the tables, the busiest service
of a month close, do not wait for S3 and SQS requests to let go of the GIL.

It also makes moto's O(table) and O(queue) paths O(1) without changing any
answer (``patch_moto_transactions``, ``patch_moto_scaling``): stock moto
backs up every table (deep copies) for each TransactWriteItems, so a month
close is quadratic in the number of accounts.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import moto
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

# The patches below replace private moto symbols (listed, with why, in docs/local-moto.md); they are written
# against this release only. Another one may have moved what they replace, and would then fail quietly.
PINNED_MOTO = "5.2.5"


def require_pinned_moto(version: str = moto.__version__) -> None:
    """Refuse to serve on any moto but the pinned one, loudly, before a single patch is applied."""
    if version != PINNED_MOTO:
        raise SystemExit(
            f"local.moto_backend patches moto {PINNED_MOTO}'s internals and found moto {version}: "
            f"install the pinned one (requirements/dev.txt) or review every patch against {version} first"
        )


class SerialDynamoDB:
    """WSGI middleware: one DynamoDB request at a time, everything else passes straight through.

    It keeps how long the lock was held (``busy_s``) and how much of that the
    holding thread spent on the CPU (``cpu_s``): the benchmarks report both.
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
    """moto's TransactWriteItems backs up by deep-copying the whole table (once per item): O(table) per call.

    That makes a local close quadratic in the number of accounts (measured: see
    ``moto_transaction_ms``). Here, in this process's moto only, the backup is
    made of the items the transaction names, and restored if it is cancelled;
    the outcome of every request is unchanged (DynamoDB requests are serial).
    """
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "per_item_backup", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self, transact_items):
        backups = []
        for entry in transact_items:
            try:
                (op,) = entry.values()
                table = self.get_table(op["TableName"])
                names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
                key = op.get("Key") or {name: op["Item"][name] for name in names}
                hash_key, range_key = self.get_keys_value(table, key)
                backups.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
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
            raise

    transact_write_items.per_item_backup = True
    models.copy = _TablesNotCopied()
    backend.transact_write_items = transact_write_items


_PICKLED = "_local_pickled"  # the attribute of a kept expression tree that holds its pickle


def _copy_expression_tree(value, memo=None):
    """``copy.deepcopy`` for moto's DynamoDB validators: an expression tree (plain objects) by pickle, from the
    pickle ``_parsed_once`` keeps beside each tree it parsed."""
    from moto.dynamodb.parsing.ast_nodes import Node

    if _instance_of(value, Node):
        return pickle.loads(value.__dict__.get(_PICKLED) or pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    return copy.deepcopy(value, memo)


def _parsed_once(make: Callable) -> Callable:
    """``UpdateExpressionParser.make``, each expression parsed once and its tree kept with its own pickle.

    A kept tree is shared by every request of that expression, so it must never change: moto only reads it
    (``find_clauses``), and its validator works on a copy (``_copy_expression_tree``).
    """

    @functools.lru_cache(maxsize=1024)
    def parsed(expression: str):
        tree = make(expression)
        tree.__dict__[_PICKLED] = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
        return tree

    return parsed


def _conditions_parsed_once(parse: Callable) -> Callable:
    """``ConditionExpressionParser.parse``, remembered by the expression and the names and values it is given.

    moto parses each request's condition twice (the handler, for the names and values it uses; the backend, to
    evaluate it) and every request again. The result (an ``Op`` tree) is only evaluated, never changed, and the
    one kept is parsed from copies of the names and values, so no request's own dicts are held.
    """
    kept: dict[tuple, tuple] = {}

    def parsed(parser):
        if not parser.condition_expression:
            return parse(parser)
        names, values = parser.expression_attribute_names, parser.expression_attribute_values
        key = (parser.condition_expression, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True))
        found = kept.get(key)
        if found is None:
            parse(parser)  # errors are raised as from stock moto, and nothing is kept
            twin = type(parser)(parser.condition_expression, copy.deepcopy(names), copy.deepcopy(values))
            if len(kept) >= 4096:
                kept.clear()
            found = kept[key] = (parse(twin), tuple(twin.expr_attr_names_found), tuple(twin.expr_attr_values_found))
            return found[0]
        parser.expr_attr_names_found.extend(found[1])
        parser.expr_attr_values_found.extend(found[2])
        return found[0]

    return parsed


_NODE_KINDS: dict[type, tuple[type, ...]] = {}


def _node_kinds(walker) -> tuple[type, ...]:
    """``DepthFirstTraverser.nodes_to_be_processed``, once per class: the keys of its (literal) processing map."""
    kinds = _NODE_KINDS.get(type(walker))
    if kinds is None:
        kinds = _NODE_KINDS[type(walker)] = tuple(walker._processing_map())
    return kinds


_INSTANCES: dict[tuple[type, object], bool] = {}


def _instance_of(value: object, kinds: type | tuple[type, ...]) -> bool:
    """``isinstance``, remembered per (type, kinds): moto's expression nodes are ABCs, whose checks run in Python
    (a fifth of an update's validation). Nothing registers a virtual subclass of them."""
    key = (type(value), kinds)
    known = _INSTANCES.get(key)
    if known is None:
        known = _INSTANCES[key] = isinstance(value, kinds)
    return known


def _traverse_node_recursively(walker, node, child_id=-1):
    """moto's ``DepthFirstTraverser.traverse_node_recursively``, line for line, with ``_instance_of``."""
    from moto.dynamodb.parsing.ast_nodes import Node

    if _instance_of(node, Node):
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                walker.pre_processing_of_child(node, i)
                walker.traverse_node_recursively(child_node, i)
        if _instance_of(node, walker.nodes_to_be_processed()):
            node = walker.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
    return node


def _find_clauses(node, clause_types) -> list:
    """moto's ``Node.find_clauses`` with ``_instance_of`` (its two recursing branches were the same)."""
    from moto.dynamodb.parsing.ast_nodes import Expression, UpdateExpressionFunction

    clauses = []
    for child in node.children or []:
        if type(child) in clause_types:
            clauses.append(child)
        elif _instance_of(child, (Expression, UpdateExpressionFunction)):
            clauses.extend(child.find_clauses(clause_types))
    return clauses


def patch_moto_scaling() -> None:
    """More of moto's O(table), O(queue) and per-event costs, made O(1) here without changing any answer.

    * DynamoDB Query on the table (not an index) scans every item of the
      table for the partition key; here it reads that partition only.
    * SQS ReceiveMessage checks each message's retention by asking the queue
      for *all* its attributes, which counts every message of the queue
      three times; here it reads the retention period only.
    * SQS DeleteMessage walks the queue twice, building every message's list
      of receipt handles, and copies it in Python (measured: 9 % of moto's
      CPU with 10,000 invoices queued); here one walk finds the message.
    * EventBridge parses each target's JSONPath input paths once, not per event.
    * A queue's attributes, which moto also computes on every SendMessage
      (to read one FIFO setting), count the queue's messages in three walks
      with two properties and two clock reads per message: a month close's
      fan-out into one queue was quadratic (the first 150 s of a
      10,000-account close ran at half speed). Here each count reads the
      clock once and compares each message's times directly.
    * SQS GetQueueAttributes computes every attribute once per name asked
      for (and twice more per name); here once. moto's clock for SQS (a
      datetime subtraction per message per check) reads ``time.time()``.
    * DynamoDB Streams GetRecords runs every record (both images of each
      write) through moto's generic response serializer (measured in a month
      close of 400 accounts: 788 ms a call, a third of moto's CPU). The records are
      already the wire format; here they are written with ``json.dumps``
      (timestamps as moto writes them), the same answer to the client.
    * The same serializer answers every DynamoDB item request (the results
      are already in DynamoDB's JSON shape); here the item operations' results
      are written with ``json.dumps`` (binary as base64, times as moto writes
      them), byte for byte what the client parses from the stock answer.
    * DynamoDB Query on an index sorts every item of the table (comparing
      moto's typed values) before matching the index's partition (measured:
      1.5 s a page of the close's fan-out at 10,000 accounts, with the table
      locked); here the items whose index key cannot match are left out
      first, by their raw value, and moto matches and sorts the rest.
    * moto builds each item attribute by attribute, and checks the item's
      size by summing every attribute so far at each one: quadratic in the
      attributes (measured: 8 % of DynamoDB's process in a close). Here the
      size is summed once; the item is refused exactly when moto refuses it
      (its running sum only grows, so it crosses the limit iff the total does).
    * moto lists a response class's methods (``inspect.getmembers``) on
      every request to find the action, and parses each UpdateExpression
      twice (once to check it, once to apply it); here each class's method
      names and each expression's syntax tree are kept (moto's validator
      works on its own deep copy of the tree, so a kept tree is never changed).
    * moto's update validator then copies the tree with ``copy.deepcopy`` and
      walks it ten times; each walk rebuilds its table of node kinds at every
      node and checks each node's kind against abstract classes, in Python
      (measured: 2-3 ms of a 140-character SET's validation on this host, the
      largest share of DynamoDB's time in a close). Here the copy is unpickled
      from the tree's own pickle (the same objects, a fifth of the time), each
      walker's node kinds, fixed per class, are kept, and so is each
      (node class, kinds) check.
    * Every stream record is serialized whole once more, when it is written,
      only to estimate its size, and every item image deep-copies its nested
      values before converting each of them. Here the size is worked out the
      same way when the record is first read (outside the DynamoDB lock), and
      nested values are converted without the copy.
    * Each condition expression is parsed twice per request (the handler
      reads the names and values it uses, the backend evaluates it), and
      again on every request. Here each (expression, names, values) is parsed
      once, from copies, and its ``Op`` tree (only ever evaluated) kept.
    * The server finds each request's backend by listing moto's package
      directory (a ``stat`` per service, some 200) and then matching the host
      against every service's URL patterns, under one lock for all requests;
      here the listing is read once and each host's backend remembered.
    """
    import jsonpath_ng.ext
    from moto import backends
    from moto.core import responses as core_responses
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import StreamRecord, Table
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.sqs import models as sqs_models

    if getattr(Table.query, "partition_only", False):
        return
    DynamoDBStreamsHandler.get_records = _get_records_as_json
    DynamoHandler.serialized = _item_results_as_json
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    DomainDispatcherApplication.get_backend_for_host = functools.lru_cache(maxsize=1024)(
        DomainDispatcherApplication.get_backend_for_host
    )
    # EventBridge builds a JSONPath parser (ply's yacc tables) for each input path of each event it delivers
    # to a target: parse each path once. A parsed path is only read (``find``), never changed.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    Item.__init__ = _item_sized_once
    DynamoType.to_regular_json = _regular_json
    StreamRecord.__init__, StreamRecord.to_json = _stream_record_unsized, _stream_record_sized
    core_responses.method_names_from_class = functools.cache(core_responses.method_names_from_class)
    UpdateExpressionParser.make = _parsed_once(UpdateExpressionParser.make)
    validators.deepcopy = _copy_expression_tree
    DepthFirstTraverser.nodes_to_be_processed = _node_kinds
    DepthFirstTraverser.traverse_node_recursively = _traverse_node_recursively
    Node.find_clauses = _find_clauses
    ConditionExpressionParser.parse = _conditions_parsed_once(ConditionExpressionParser.parse)
    table_query = Table.query

    def query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name:
            candidates = _index_candidates(self, kwargs.get("hash_key_conditions"))
        elif hash_key is not None and self.range_key_attr:
            candidates = list(self.items.get(hash_key, {}).values())
        else:
            candidates = None
        if candidates is None:
            return table_query(self, hash_key, *args, **kwargs)
        self.all_items = lambda: iter(candidates)  # DynamoDB requests are serial: no one else sees this
        try:
            return table_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query.partition_only = True
    Table.query = query

    def unix_time(dt=None):
        return time.time() if dt is None else original_unix_time(dt)

    def unix_time_millis(dt=None):
        return time.time() * 1000.0 if dt is None else original_unix_time(dt) * 1000.0

    original_unix_time = sqs_models.unix_time
    sqs_models.unix_time, sqs_models.unix_time_millis = unix_time, unix_time_millis
    backend = sqs_models.SQSBackend

    def is_message_valid_based_on_retention_period(self, queue_name, message) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > time.time()

    def get_queue_attributes(self, queue_name, attribute_names):
        queue = self.get_queue(queue_name)
        if not attribute_names:
            return {}
        valid = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
        invalid = next((name for name in attribute_names if name not in valid), None)
        if invalid or invalid == "":
            raise sqs_models.InvalidAttributeName(invalid)
        everything = queue.attributes
        if "All" in attribute_names:
            return everything
        return {name: everything[name] for name in attribute_names if everything.get(name) is not None}

    # A queue's three message counts are part of its attributes, which moto also reads on every SendMessage
    # (to look up one FIFO setting): three walks of the queue, a clock read and two properties per message.
    # Here each count reads the clock once and compares the message's times directly (the same tests).
    def visible(queue) -> int:  # moto's ``len(queue.messages)``: visible and not delayed
        now = sqs_models.unix_time_millis()
        return sum(1 for m in queue._messages if now > m.visible_at and now >= m.delayed_until)

    def delayed(queue) -> int:
        now = sqs_models.unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def not_visible(queue) -> int:
        now = sqs_models.unix_time_millis()
        return sum(1 for m in queue._messages if now <= m.visible_at)

    sqs_models.Queue.approximate_number_of_messages = property(visible)
    sqs_models.Queue.approximate_number_of_messages_delayed = property(delayed)
    sqs_models.Queue.approximate_number_of_messages_not_visible = property(not_visible)
    backend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    backend.get_queue_attributes = get_queue_attributes

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: deleting again is no error
        messages = self._messages
        found = next(
            (
                index
                for index, message in enumerate(messages)
                if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles
            ),
            None,
        )
        if found is None:
            raise sqs_models.ReceiptHandleIsInvalid()
        message = messages[found]
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages = messages[:found] + messages[found + 1 :]  # a new list, as moto's readers expect

    sqs_models.Queue.delete_message = delete_message


ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict: DynamoDB's 400 KB, as moto measured it


def _regular_json(value) -> dict:
    """moto's ``DynamoType.to_regular_json`` without deep-copying the nested ``DynamoType`` values it then
    replaces anyway: each is converted directly, anything else copied as before (the same result)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    def converted(nested):
        return nested.to_regular_json() if isinstance(nested, DynamoType) else copy.deepcopy(nested)

    raw = value.value
    if isinstance(raw, dict):
        raw = {key: converted(nested) for key, nested in raw.items()}
    elif isinstance(raw, list):
        raw = [converted(nested) for nested in raw]
    else:
        raw = copy.deepcopy(raw)
    if value.is_binary() and isinstance(raw, str):
        raw = base64.b64decode(raw)
    return {value.type: raw}


def _stream_record_unsized(record, table, stream_type: str, event_name: str, old, new, seq: int) -> None:
    """moto's ``StreamRecord.__init__`` line for line, but for the record's ``SizeBytes``, which moto works out by
    serializing the whole record again (both images): here ``_stream_record_sized`` does that when the record is
    first read, the same way, outside the DynamoDB lock (GetRecords is not serial) instead of in every write."""
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    old_a = old.to_json()["Attributes"] if old is not None else {}
    new_a = new.to_json()["Attributes"] if new is not None else {}
    rec = old if old is not None else new
    keys = {table.hash_key_attr: rec.hash_key.to_json()}
    if table.range_key_attr is not None and rec is not None:
        keys[table.range_key_attr] = rec.range_key.to_json()
    record.record = {
        "eventID": mock_random.uuid4().hex,
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.0",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "StreamViewType": stream_type,
            "ApproximateCreationDateTime": utcnow(),
            "SequenceNumber": str(seq),
            "SizeBytes": 1,
            "Keys": keys,
        },
    }
    if stream_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        record.record["dynamodb"]["NewImage"] = new_a
    if stream_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        record.record["dynamodb"]["OldImage"] = old_a
    record.sized = False


def _stream_record_sized(record) -> dict:
    """moto's ``StreamRecord.to_json``, the record's ``SizeBytes`` first worked out as moto does (its serialized
    length while ``SizeBytes`` is 1). Two readers at once work out the same number."""
    from moto.dynamodb.models.utilities import dynamo_json_dump

    if not record.__dict__.get("sized", True):
        change = record.record["dynamodb"]
        change["SizeBytes"] = len(dynamo_json_dump({**change, "SizeBytes": 1}))
        record.sized = True
    return record.record


def _item_sized_once(item, hash_key, range_key, attrs: dict) -> None:
    """moto's ``Item.__init__``, with the item's size summed once instead of once per attribute."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    item.hash_key, item.range_key = hash_key, range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    item.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(item.attrs, values)  # dict's own update: no per-attribute check (the total passed)


def _index_candidates(table, hash_conditions) -> list | None:
    """The table's items that may be in an index query's partition, in ``Table.all_items``'s order.

    An item is left out only if it lacks an index key attribute or holds it with another type, or, for
    strings and binary, another value (moto's ``DynamoType`` equality on those); numbers are left to moto,
    which compares them as numbers. ``None``: no conditions to go by, so moto walks everything.
    """
    if not hash_conditions:
        return None

    def may_match(item) -> bool:
        for name, expected in hash_conditions:
            value = item.attrs.get(name)
            if value is None or value.type != expected.type:
                return False
            if expected.type in ("S", "B") and value.value != expected.value:
                return False
        return True

    items = (item for partition in table.items.values() for item in _items_of(table, partition))
    found = [item for item in items if may_match(item)]
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _items_of(table, partition) -> Iterable:
    return partition.values() if table.range_key_attr else (partition,)


# The DynamoDB operations whose results ``_item_results_as_json`` writes (the rest keep moto's serializer:
# BatchGetItem's capacity units, for one, are integers in moto's result and doubles on the wire).
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _wire(value: object) -> object:
    """What ``json.dumps`` cannot write (binary, times), as DynamoDB's and its streams' JSON protocol write it."""
    from moto.core.serialize import TimestampSerializer

    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return TimestampSerializer._timestamp_unixtimestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _item_results_as_json(handler, action_result) -> tuple[int, dict, str]:
    """moto's ``BaseResponse.serialized`` for DynamoDB, item operations' successes written directly."""
    from moto.core.responses import BaseResponse

    result = action_result.result
    if handler._get_action() not in ITEM_OPERATIONS or isinstance(result, Exception):
        return BaseResponse.serialized(handler, action_result)
    headers = {"Content-Type": "application/x-amz-json-1.0", **handler.response_headers}
    return 200, headers, json.dumps({} if result is None else result, default=_wire)


def _get_records_as_json(handler) -> str:
    """moto's DynamoDB Streams ``GetRecords``, its result written as JSON directly (see ``patch_moto_scaling``)."""
    limit = handler._get_param("Limit")
    result = handler.backend.get_records(handler._get_param("ShardIterator"), 1000 if limit is None else limit)
    return json.dumps(result, default=_wire)


class KeepAliveServer:
    """cheroot's WSGI server behind the interface ``ThreadedMotoServer`` drives (``server_address``,
    ``serve_forever``, ``shutdown``): HTTP/1.1 keep-alive, on a pool of threads.

    werkzeug's development server, which moto ships with, closes every connection after one response, so
    each AWS call paid a TCP connection on both sides and a new server thread. Measured on one moto server,
    UpdateItem, GetItem and a 40 KB PutObject in turn: the server's CPU per call fell by a fifth and the
    client's (botocore, as in the functions) by a tenth; the round trip by about 30 %.

    Made on the server's own (daemon) thread, so its workers are daemon threads too. ``THREADS`` leaves room
    for every SQS long poll the local runner keeps open at once (at most four per queue), which each hold a
    thread for up to 20 s.
    """

    THREADS = 64

    def __init__(self, host: str, port: int, app: Callable):
        from cheroot.wsgi import Server

        self._server = Server((host, port), _raw_uri(app), numthreads=self.THREADS)
        self._server.prepare()  # binds and listens: the port is known from here on

    @property
    def server_address(self) -> tuple[str, int]:
        return self._server.bind_addr[:2]

    def serve_forever(self) -> None:
        self._server.serve()

    def shutdown(self) -> None:
        """Stop accepting and close idle connections; requests in flight (a long poll) end on their own.

        cheroot's ``stop`` then waits for every worker, a long poll's for as long as the poll: that wait runs
        on a daemon thread of its own, and this returns once the listening socket is closed.
        """
        stopping = threading.Thread(target=self._server.stop, name="moto-server-stop", daemon=True)
        stopping.start()
        while stopping.is_alive() and self._server.socket is not None:
            time.sleep(0.01)


def _raw_uri(app: Callable) -> Callable:
    """moto reads the request's path as sent, before percent-decoding, from werkzeug's ``RAW_URI``; cheroot
    names the same thing ``REQUEST_URI`` (an S3 key with an encoded slash depends on it)."""

    def with_raw_uri(environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return app(environ, start_response)

    return with_raw_uri


def create_quiet_backend_app(service: str):
    """moto's Flask app for a service, out of Flask's debug mode (moto turns it on), which checks every form
    request's encoding for a debugging hint. Exceptions still propagate to the server, as in debug mode."""
    app = create_backend_app(service)
    app.debug = False
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return app


class LocalMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` on 127.0.0.1 (port 0 picks a free port), quiet, with serial DynamoDB and
    keep-alive connections (``KeepAliveServer``).

    ``wrap`` (the benchmarks' request counter) wraps the whole app; ``patched=False`` serves stock moto
    (its scaling, ``patch_moto_transactions`` and ``patch_moto_scaling``, and its werkzeug server) for
    comparison.
    """

    def __init__(self, port: int = 0, wrap: Callable[[Callable], Callable] | None = None, patched: bool = True):
        require_pinned_moto()
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self.serial = SerialDynamoDB(
            DomainDispatcherApplication(create_quiet_backend_app if patched else create_backend_app)
        )
        self.wrap = wrap or (lambda app: app)
        self.patched = patched

    def _server_entry(self) -> None:
        forget_per_request_models()
        if self.patched:
            patch_moto_transactions()
            patch_moto_scaling()
        app = self.wrap(self.serial)
        if self.patched:
            self._server = KeepAliveServer(self._ip_address, self._port, app)
        else:
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

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
    parser.add_argument("--stock", action="store_true", help="without the scaling patches")
    args = parser.parse_args(argv)
    serve(LocalMotoServer(port=args.port, patched=not args.stock))


if __name__ == "__main__":
    main()
