"""The count function's cold start, guarded by what it imports rather than by a time.

``benchmarks/cold_start.py`` measures the import against the botocore floor;
this test keeps the figure from regressing silently. The count function once
went from 1.14× to 1.5× the floor because one domain module imported an API
schema, and with it pydantic. The check runs in a fresh interpreter, exactly
as a Lambda container would import the handler.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

# What the count function's first request needs: the SDK's core, Powertools'
# logger and metrics (not its event handler, which the plain path keeps out),
# and the domain modules on the path from the handler to the usage store.
ALLOWED_PACKAGES = {
    "aws_lambda_powertools",
    "billing",
    "botocore",
    "certifi",
    "dateutil",
    "jmespath",
    "six",
    "typing_extensions",
    "urllib3",
}
NEVER = (
    "pydantic",
    "pydantic_core",
    "reportlab",
    "invoice_pdf",
    "boto3",
    "holidays",
    "aws_lambda_powertools.event_handler",
    "billing.invoicing.invoice",  # the invoice model, its issuer and bank calendar: not a count's business
    "billing.invoicing.issuer",
)

IMPORTED = """
import json, sys
sys.path[:0] = [{domain!r}, {function!r}]
import app
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(function: str) -> set[str]:
    code = IMPORTED.format(domain=str(ROOT / "layers" / "domain"), function=str(ROOT / "functions" / function))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout))


def third_party(modules: set[str]) -> set[str]:
    roots = {name.split(".")[0] for name in modules}
    return {
        root for root in roots if root not in sys.stdlib_module_names and not root.startswith("_") and root != "app"
    }


def test_the_count_function_imports_only_what_its_first_request_needs():
    # Given a fresh interpreter, When the count function's handler is imported
    modules = imported_by("record_counts")
    # Then no package beyond the allowed ones is loaded, and none of the heavy ones
    assert third_party(modules) <= ALLOWED_PACKAGES, third_party(modules) - ALLOWED_PACKAGES
    heavy = sorted(m for m in modules for never in NEVER if m == never or m.startswith(never + "."))
    assert heavy == [], heavy


def test_the_check_sees_a_heavy_import():
    # The guard itself can fail: the accounts function does import pydantic (its typed resolver).
    modules = imported_by("accounts")
    assert "pydantic" in modules
    assert "pydantic" in third_party(modules) - ALLOWED_PACKAGES
