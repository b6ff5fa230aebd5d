"""`python -m local up`: what a script that starts it relies on."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.local.conftest import RunningStack, start_local_up, stop_local_up

DOCUMENTED_KEYS = {
    "url",
    "endpoint",
    "region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "operator_access_key_id",
    "operator_secret_access_key",
}


def test_the_first_line_is_json_with_the_documented_keys(local_stack: RunningStack):
    # Given `up --port 0` has started / Then its first line names the API, the AWS endpoint and the credentials
    config = local_stack.config
    assert set(config) == DOCUMENTED_KEYS
    assert config["url"].startswith("http://127.0.0.1:")
    assert not config["url"].endswith(":0"), "--port 0 must report the port it really bound"
    assert config["endpoint"].startswith("http://127.0.0.1:")
    assert config["region"] == "ap-northeast-1"
    assert config["aws_access_key_id"] and config["aws_secret_access_key"]
    assert config["operator_access_key_id"] and config["operator_secret_access_key"]


def test_the_aws_endpoint_holds_the_templates_resources(local_stack: RunningStack):
    # Given the endpoint and credentials `up` printed
    config = local_stack.config
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=config["aws_access_key_id"],
        aws_secret_access_key=config["aws_secret_access_key"],
        region_name=config["region"],
    )
    # When I list what is there / Then the template's table, with its key schema, exists
    state = json.loads(local_stack.state_path.read_text())
    table_name = state["resources"]["BillingTable"]["ref"]
    table = session.client("dynamodb", endpoint_url=config["endpoint"]).describe_table(TableName=table_name)["Table"]
    assert {key["AttributeName"] for key in table["KeySchema"]} == {"pk", "sk"}


def test_the_state_file_records_the_running_stack(local_stack: RunningStack):
    state = json.loads(local_stack.state_path.read_text())
    assert {key: state[key] for key in DOCUMENTED_KEYS} == local_stack.config
    assert state["pid"] == local_stack.process.pid
    assert state["resources"]["BillingTable"]["type"] == "AWS::DynamoDB::Table"


def test_sigterm_stops_the_stack_within_seconds(tmp_path):
    # Given a second stack of its own
    stack = start_local_up(tmp_path)
    assert requests.get(stack.config["url"] + "/v1/accounts/x", timeout=30).status_code == 403
    # When it gets SIGTERM
    started = time.monotonic()
    status = stop_local_up(stack.process, timeout_s=15)
    # Then it exits cleanly within a few seconds, forgets its state and stops answering
    assert time.monotonic() - started < 10, stack.log()
    assert status == 0, stack.log()
    assert not stack.state_path.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(stack.config["url"] + "/v1/accounts/x", timeout=5)
