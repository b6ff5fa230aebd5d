"""The local stack reads template.yaml as CloudFormation and SAM would (no server needed)."""

from __future__ import annotations

import textwrap

import pytest

from local.resources import creation_order, plan
from local.template import Pseudo, Resolver, Template, TemplateError, load_yaml
from tests.stacks import ROOT

PSEUDO = Pseudo("ap-northeast-1", "123456789012", "invoicing-local")
ENDPOINT = "http://127.0.0.1:5000"


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def resolver(template: Template) -> Resolver:
    return Resolver(template, PSEUDO, plan(template, PSEUDO, ENDPOINT))


def test_short_tags_become_their_long_forms(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        textwrap.dedent(
            """
            A: !Ref Thing
            B: !GetAtt Queue.Arn
            C: !Sub "${Queue.QueueName}-x"
            D: !Join [",", [a, !Ref Thing]]
            E: !If [IsProd, 1, 2]
            """
        )
    )
    body = load_yaml(path)
    assert body["A"] == {"Ref": "Thing"}
    assert body["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert body["C"] == {"Fn::Sub": "${Queue.QueueName}-x"}
    assert body["D"] == {"Fn::Join": [",", ["a", {"Ref": "Thing"}]]}
    assert body["E"] == {"Fn::If": ["IsProd", 1, 2]}


def test_every_function_gets_the_globals_and_its_own_environment(template: Template, resolver: Resolver):
    functions = template.functions(resolver)
    table = resolver.physical["BillingTable"].ref
    for spec in functions.values():
        # Globals' variables are merged into each function's, resolved to local names
        assert spec.environment["TABLE_NAME"] == table
        assert spec.environment["STAGE"] == template.parameters["Stage"]["Default"]
        # Globals' layers come first, then the function's own
        assert spec.layers[0] == (ROOT / "layers" / "domain").resolve()
        assert spec.code_uri.is_dir() and (spec.code_uri / "app.py").exists()


def test_a_queue_reference_resolves_to_its_url_and_an_arn_to_an_arn(resolver: Resolver):
    queue = resolver.physical["IssueInvoiceQueue"]
    assert resolver.resolve({"Ref": "IssueInvoiceQueue"}).startswith(f"{ENDPOINT}/123456789012/")
    assert resolver.resolve({"Fn::GetAtt": ["IssueInvoiceQueue", "Arn"]}) == queue.attributes["Arn"]
    assert resolver.resolve({"Fn::Sub": "${IssueInvoiceQueue.QueueName}!"}) == queue.attributes["QueueName"] + "!"


def test_bucket_names_are_lowercase_and_dns_safe(resolver: Resolver):
    for item in resolver.physical.values():
        if item.type == "AWS::S3::Bucket":
            assert item.ref == item.ref.lower() and len(item.ref) <= 63


def test_an_unknown_reference_fails_loudly(resolver: Resolver):
    with pytest.raises(TemplateError, match="NoSuchThing"):
        resolver.resolve({"Ref": "NoSuchThing"})
    with pytest.raises(TemplateError, match="NoSuchAttribute"):
        resolver.resolve({"Fn::GetAtt": ["BillingTable", "NoSuchAttribute"]})


def test_dead_letter_queues_are_created_before_the_queues_that_name_them(template: Template):
    queues = list(template.of_type("AWS::SQS::Queue"))
    order = creation_order(template, queues)
    for logical_id in queues:
        policy = template.resources[logical_id].get("Properties", {}).get("RedrivePolicy")
        if policy:
            dead_letter = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert order.index(dead_letter) < order.index(logical_id)


def test_every_http_route_names_an_api_and_a_function(template: Template):
    routes = template.routes()
    assert {route.route_key for route in routes} >= {
        "PUT /v1/accounts/{account_id}",
        "POST /v1/record-counts",
        "GET /v1/accounts/{account_id}/usage/{month}",
    }
    apis = template.http_apis()
    for route in routes:
        assert route.api in apis
        assert template.resources[route.function]["Type"] == "AWS::Serverless::Function"


def test_an_api_url_in_a_function_environment_leads_to_the_local_gateway(template: Template):
    # Given the stack has bound the customer API to a local gateway
    physical = plan(template, PSEUDO, ENDPOINT)
    cloud_url = physical["CustomerApi"].attributes["ApiEndpoint"]
    physical["CustomerApi"].attributes["ApiEndpoint"] = "http://127.0.0.1:3000"
    resolver = Resolver(template, PSEUDO, physical)
    # When the deliver function's environment is resolved
    environment = template.function("DeliverInvoiceFunction", resolver).environment
    # Then the web-statement link built with !Sub https://${CustomerApi}.execute-api... is the local page
    assert cloud_url.startswith("https://") and "execute-api" in cloud_url
    assert environment["STATEMENTS_URL"] == "http://127.0.0.1:3000/statements"


def test_the_confirmation_page_url_leads_to_the_local_gateway(template: Template):
    # Given the stack has bound the customer API to a local gateway
    physical = plan(template, PSEUDO, ENDPOINT)
    physical["CustomerApi"].attributes["ApiEndpoint"] = "http://127.0.0.1:3000"
    resolver = Resolver(template, PSEUDO, physical)
    # When the change-requests function's environment is resolved
    environment = template.function("ChangeRequestsFunction", resolver).environment
    # Then the confirmation email's link (the API's bare URL, no path) is the local gateway
    assert environment["CONFIRMATION_PAGE_URL"] == "http://127.0.0.1:3000"
