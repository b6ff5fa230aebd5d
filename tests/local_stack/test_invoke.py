"""`python -m local invoke`: one event through one function, against the running stack, like `sam local invoke`."""

from __future__ import annotations

import json

from local.client import SignedSession
from tests.stacks import ROOT, RunningStack, run_cli


def test_invoke_runs_a_sample_event_against_the_running_stacks_table(
    local_stack: RunningStack, api: SignedSession, account: str, tmp_path
):
    # Given the sample GET-account event, pointed at an account created through the API
    event = json.loads((ROOT / "events" / "get_account.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/accounts/{account}"
    event["pathParameters"] = {"account_id": account}
    event_file = tmp_path / "get_account.json"
    event_file.write_text(json.dumps(event))
    # When I invoke the function with it
    result = run_cli(local_stack, "invoke", "AccountsFunction", "--event", str(event_file))
    # Then stdout is the handler's result, and it read the account the API wrote
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == api.get(f"/v1/accounts/{account}").json()


def test_invoke_names_the_functions_when_the_logical_id_is_wrong(local_stack: RunningStack):
    result = run_cli(local_stack, "invoke", "NoSuchFunction", "--event", str(ROOT / "events" / "get_account.json"))
    assert result.returncode != 0
    assert "NoSuchFunction" in result.stderr and "AccountsFunction" in result.stderr
