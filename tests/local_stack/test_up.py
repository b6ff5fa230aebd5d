"""`python -m local up`: what a script that starts it relies on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

import pytest
import requests

from tests.stacks import RunningStack, start_local_up, stop_local_up

DOCUMENTED_KEYS = {
    "url",
    "endpoint",
    "dynamodb_endpoint",
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
    assert config["dynamodb_endpoint"].startswith("http://127.0.0.1:")
    assert config["dynamodb_endpoint"] != config["endpoint"], "DynamoDB is served by a moto process of its own"
    assert config["region"] == "ap-northeast-1"
    assert config["aws_access_key_id"] and config["aws_secret_access_key"]
    assert config["operator_access_key_id"] and config["operator_secret_access_key"]


def test_the_aws_endpoint_holds_the_templates_resources(local_stack: RunningStack):
    # Given the endpoints and credentials `up` printed
    config = local_stack.config
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=config["aws_access_key_id"],
        aws_secret_access_key=config["aws_secret_access_key"],
        region_name=config["region"],
    )
    # When I list what is there / Then the template's table, with its key schema, is on the DynamoDB endpoint
    state = json.loads(local_stack.state_path.read_text())
    table_name = state["resources"]["BillingTable"]["ref"]
    dynamodb = session.client("dynamodb", endpoint_url=config["dynamodb_endpoint"])
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    assert {key["AttributeName"] for key in table["KeySchema"]} == {"pk", "sk"}
    # And the template's bucket on the other
    bucket = state["resources"]["InvoiceBucket"]["ref"]
    session.client("s3", endpoint_url=config["endpoint"]).head_bucket(Bucket=bucket)


def test_the_state_file_records_the_running_stack(local_stack: RunningStack):
    state = json.loads(local_stack.state_path.read_text())
    assert {key: state[key] for key in DOCUMENTED_KEYS} == local_stack.config
    assert state["pid"] == local_stack.process.pid
    os.kill(state["dynamodb_pid"], 0)  # DynamoDB's moto process, alive
    assert state["resources"]["BillingTable"]["type"] == "AWS::DynamoDB::Table"


@pytest.mark.slow
def test_sigterm_stops_the_stack_within_seconds(tmp_path):
    # Given a second stack of its own
    stack = start_local_up(tmp_path)
    assert requests.get(stack.config["url"] + "/v1/accounts/x", timeout=30).status_code == 403
    # When it gets SIGTERM
    started = time.monotonic()
    status = stop_local_up(stack.process, timeout_s=15)
    # Then it exits cleanly within a few seconds, forgets its state and stops answering, its moto servers too
    assert time.monotonic() - started < 10, stack.log()
    assert status == 0, stack.log()
    assert not stack.state_path.exists()
    for url in (stack.config["url"] + "/v1/accounts/x", stack.config["dynamodb_endpoint"]):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)


@pytest.mark.slow
def test_dynamodbs_moto_process_goes_when_up_is_killed_outright(tmp_path):
    # Given a stack of its own, whose DynamoDB is a second moto process
    stack = start_local_up(tmp_path)
    try:
        assert requests.get(stack.config["dynamodb_endpoint"], timeout=30).status_code < 500
        # When `up` is killed without a chance to stop it
        os.kill(stack.process.pid, signal.SIGKILL)
        stack.process.wait(timeout=10)
        # Then that process stops serving within seconds rather than holding its port for good
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(stack.config["dynamodb_endpoint"], timeout=2)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                break  # refused, or an answer cut off as the process went
            time.sleep(0.2)
        else:
            pytest.fail("DynamoDB's moto process outlived `up`")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stack.process.pid, signal.SIGKILL)  # the function containers of the killed `up`


@pytest.mark.slow
def test_up_stops_with_an_error_when_dynamodbs_moto_process_dies(tmp_path):
    # Given a stack of its own
    stack = start_local_up(tmp_path)
    try:
        dynamodb_pid = json.loads(stack.state_path.read_text())["dynamodb_pid"]
        # When its DynamoDB process dies (every table with it)
        os.kill(dynamodb_pid, signal.SIGKILL)
        # Then `up` does not serve on against nothing: it stops within seconds, fails, and says why
        status = stack.process.wait(timeout=15)
        assert status == 1, stack.log()
        assert f"DynamoDB's moto process (pid {dynamodb_pid}) exited" in stack.log()
        assert not stack.state_path.exists()
        with pytest.raises(requests.ConnectionError):
            requests.get(stack.config["url"] + "/v1/accounts/x", timeout=5)
    finally:
        if stack.process.poll() is None:
            stop_local_up(stack.process, timeout_s=15)
