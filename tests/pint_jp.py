"""OpenPeppol's PINT JP 1.1.3 validation, run as the official artefacts are: compiled Schematron (XSLT 2.0) under Saxon.

The rule files are the project's own copy of the official bundle (``tests/data/pint-jp/``, where they come from in
its SOURCE.md). Two XSLT files are run over each document, and every SVRL ``failed-assert`` of either is reported:

* ``PINT-UBL-validation-preprocessed.xslt``: the shared PINT rules every jurisdiction inherits (``ibr-*``);
* ``PINT-jurisdiction-aligned-rules.xslt``: Japan's (``aligned-ibr*-jp``, ``aligned-ibrp-*``).

Test dependency only (``saxonche``, SaxonC-HE); no layer imports this. Compiling takes a moment, so a test session
builds one ``PintJp`` and keeps it (``official_rules()``).

Alone, on any files::

    .venv/bin/python -m tests.pint_jp invoice.xml [more.xml ...]

prints each failed assert and exits 1 when any document has one (0 when all pass, 2 on a file that is not XML).
"""

from __future__ import annotations

import functools
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

BUNDLE = Path(__file__).resolve().parent / "data" / "pint-jp" / "pint-jp-1.1.3" / "trn-invoice"
RULE_FILES = (
    BUNDLE / "schematron" / "PINT-UBL-validation-preprocessed.xslt",
    BUNDLE / "schematron" / "PINT-jurisdiction-aligned-rules.xslt",
)
EXAMPLES = BUNDLE / "example"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"

# The one failure a document may carry: no buyer electronic address (ibt-049) when the account has no 法人番号.
NO_BUYER_ENDPOINT = "ibr-080"


@dataclass(frozen=True)
class FailedAssert:
    """One SVRL ``failed-assert``: the rule's id, ``fatal`` or ``warning``, its message and where it fired."""

    id: str
    flag: str
    text: str
    location: str = ""

    def __str__(self) -> str:
        return f"[{self.flag}] {self.id}: {self.text}  at {self.location}"


class PintJp:
    """The two compiled rule sets, ready to run over any number of documents."""

    def __init__(self, rule_files: tuple[Path, ...] = RULE_FILES):
        from saxonche import PySaxonProcessor  # imported here so a plain import of this module needs no Saxon

        self._processor = PySaxonProcessor(license=False)
        compiler = self._processor.new_xslt30_processor()
        self._rules = []
        for path in rule_files:
            if not path.is_file():
                raise FileNotFoundError(path)
            self._rules.append(compiler.compile_stylesheet(stylesheet_file=str(path)))  # raises PySaxonApiError

    def failed_asserts(self, xml: bytes) -> list[FailedAssert]:
        """Every failed assert of both rule sets over ``xml`` (UTF-8 bytes); empty when the document passes."""
        from saxonche import PySaxonApiError

        try:
            node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        except PySaxonApiError as error:
            raise ValueError(f"not well-formed XML: {' '.join(str(error).split())}") from None
        found: list[FailedAssert] = []
        for rules in self._rules:
            svrl = rules.transform_to_string(xdm_node=node)
            if not svrl:
                raise RuntimeError("the rules gave no report")
            report = ET.fromstring(svrl.encode("utf-8"))
            if report.tag != f"{SVRL}schematron-output" or report.find(f"{SVRL}fired-rule") is None:
                # A report in which no rule fired means the document was not even read as an Invoice.
                raise RuntimeError("the rules fired on nothing: is this a UBL Invoice?")
            found.extend(
                FailedAssert(
                    id=failed.get("id", ""),
                    flag=failed.get("flag", ""),
                    text=" ".join("".join(failed.itertext()).split()),
                    location=failed.get("location", ""),
                )
                for failed in report.iter(f"{SVRL}failed-assert")
            )
        return found


@functools.cache
def official_rules() -> PintJp:
    """One compiled ``PintJp`` per test process, shared by every test that validates (compiling is the slow part)."""
    return PintJp()


def failed_asserts(xml: bytes) -> list[FailedAssert]:
    """The failed asserts of the official rules over ``xml``."""
    return official_rules().failed_asserts(xml)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.pint_jp FILE.xml [FILE.xml ...]", file=sys.stderr)
        return 2
    rules = PintJp()
    status = 0
    for name in argv:
        try:
            failed = rules.failed_asserts(Path(name).read_bytes())
        except (OSError, UnicodeDecodeError, RuntimeError, ValueError) as error:
            print(f"{name}: cannot validate: {error}", file=sys.stderr)
            return 2
        if failed:
            status = 1
        print(f"{name}: {'FAIL' if failed else 'ok'} ({len(failed)} failed assert{'s' if len(failed) != 1 else ''})")
        for one in failed:
            print(f"  {one}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
