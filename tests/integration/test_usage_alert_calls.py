"""What a batch of readings costs the usage watch in AWS calls, counted call by call and by the watch that made
them (the figures benchmarks/usage_alerts.py measures per reading, on the same world).

The alerts read an account's profile only when its month's rise may set off an alert, and whether alerts are on
is in that profile: so a quiet batch costs them nothing, and a batch whose peaks cross a bracket one read per
account, then per alert sent two conditional writes (claimed, marked sent), an event and an email. The churn watch
reads and replaces each account's state once per batch, whatever the alerts do.
"""

from __future__ import annotations

from collections import Counter

from benchmarks._usage_world import ALERTS_OFF, CROSSING, QUIET, batch_of, by_watch, counted_by_watch
from tests.conftest import LambdaContext
from tests.integration.conftest import Api
from tests.integration.stream import Stream

ACCOUNTS = 4


def test_alerts_read_once_per_account_a_rise_may_alert_and_write_twice_per_alert_sent(aws):
    watch, stream = Api("usage_watch").module, Stream()
    sent = {"dynamodb.UpdateItem": 2 * ACCOUNTS, "events.PutEvents": ACCOUNTS, "sesv2.SendEmail": ACCOUNTS}
    expected = {
        QUIET: {},
        CROSSING: {"dynamodb.GetItem": ACCOUNTS, **sent},
        ALERTS_OFF: {"dynamodb.GetItem": ACCOUNTS},
    }
    for scenario, alerts in expected.items():
        batch, _ = batch_of(scenario, scenario.name, ACCOUNTS, stream)
        with counted_by_watch(watch) as calls:
            assert watch.lambda_handler(batch, LambdaContext()) == {"batchItemFailures": []}
        assert by_watch(calls, "alerts") == Counter(alerts), scenario.name
        assert by_watch(calls, "churn") == Counter({"dynamodb.GetItem": ACCOUNTS, "dynamodb.PutItem": ACCOUNTS})
        assert not by_watch(calls, "other"), scenario.name
