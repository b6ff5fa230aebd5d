"""Zengin (全銀協) fixed-length files, with each record's layout written as data.

A record is a list of fields: a name, the layout's Japanese label, a width, and a kind: ``N`` (digits,
right-aligned, zero-filled) or ``C`` (half-width text, left-aligned, space-filled). Some fields carry the
same value in every record of their kind (データ区分, 種別コード). Writing and reading are the same few lines
for every layout, so a bank's or a collection agency's variant is another field list, not more code.

The bytes are JIS X 0201 written in CP932: one byte a character, half-width katakana 0xA1–0xDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate

CR_LF = b"\r\n"
EOF_MARK = b"\x1a"  # some banks' software ends a file with it
TEXT = re.compile(r"[ -~\uFF61-\uFF9F]*")  # what a C field may hold once decoded


class BankFileError(ValueError):
    """A file that is not what its layout says: the record (counted from 1) and the field at fault."""

    def __init__(self, record: int, field: str, reason: str):
        super().__init__(f"record {record}, {field}: {reason}")
        self.record, self.field, self.reason = record, field, reason


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    width: int
    kind: str  # "N" or "C"
    fixed: str | None = None

    def write(self, value: object) -> str:
        text = self.fixed if self.fixed is not None else ("" if value is None else str(value))
        if len(text) > self.width:
            raise ValueError(f"{self.label} ({self.name}) is {len(text)} characters wide; the layout has {self.width}")
        if self.kind == "N":
            if text and not (text.isascii() and text.isdigit()):
                raise ValueError(f"{self.label} ({self.name}) must be digits, not {text!r}")
            return text.rjust(self.width, "0")
        if not TEXT.fullmatch(text):
            raise ValueError(f"{self.label} ({self.name}) holds a character a bank file cannot carry: {text!r}")
        return text.ljust(self.width, " ")

    def read(self, text: str, record: int) -> str:
        if self.kind == "N" and not (text.isascii() and text.isdigit()):
            raise BankFileError(record, self.label, f"must be {self.width} digits, not {text!r}")
        if self.fixed is not None and text != self.fixed:
            raise BankFileError(record, self.label, f"must be {self.fixed}, not {text!r}")
        return text if self.kind == "N" else text.rstrip(" ")


@dataclass(frozen=True)
class Record:
    """One kind of record: its fields in order. The first field, データ区分, is fixed and names the kind."""

    fields: tuple[Field, ...]

    @property
    def kind(self) -> str:
        return self.fields[0].fixed

    @property
    def length(self) -> int:
        return sum(f.width for f in self.fields)

    def write(self, values: dict) -> str:
        unknown = set(values) - {f.name for f in self.fields}
        if unknown:
            raise ValueError(f"record {self.kind} has no field {sorted(unknown)}")
        return "".join(f.write(values.get(f.name)) for f in self.fields)

    def read(self, text: str, record: int) -> dict[str, str]:
        ends = list(accumulate(f.width for f in self.fields))
        return {f.name: f.read(text[end - f.width : end], record) for f, end in zip(self.fields, ends, strict=True)}


@dataclass(frozen=True)
class Layout:
    """A file: its records' length and the kinds of record it may hold."""

    name: str
    length: int
    records: tuple[Record, ...]

    def __post_init__(self):
        for record in self.records:
            assert record.length == self.length, f"{self.name}: record {record.kind} is {record.length} wide"

    def record(self, kind: str) -> Record:
        return next(r for r in self.records if r.kind == kind)

    def write(self, rows: list[tuple[str, dict]]) -> bytes:
        """The file for ``rows`` (a kind and its values each), CR LF after every record."""
        return b"".join(self.record(kind).write(values).encode("cp932") + CR_LF for kind, values in rows)

    def read(self, body: bytes) -> list[tuple[str, dict[str, str]]]:
        """Every record of ``body`` as its kind and values; ``BankFileError`` for the first fault."""
        rows = []
        for number, raw in enumerate(self._split(body), start=1):
            if len(raw) != self.length:
                raise BankFileError(number, "レコード長", f"is {len(raw)} bytes; {self.name} records are {self.length}")
            text = _decode(raw, number)
            kinds = {r.kind: r for r in self.records}
            if text[0] not in kinds:
                raise BankFileError(number, "データ区分", f"must be one of {', '.join(kinds)}, not {text[0]!r}")
            rows.append((text[0], kinds[text[0]].read(text, number)))
        if not rows:
            raise BankFileError(1, "レコード", "the file holds no record")
        return rows

    def read_file(self, body: bytes) -> list[tuple[str, dict[str, str]]]:
        """``read``, and the file's shape checked: one header first, data records, one trailer, one end last."""
        rows = self.read(body)
        kinds = "".join(kind for kind, _ in rows)
        expected = "1" + "2" * (len(kinds) - 3) + "89"
        for number, (kind, want) in enumerate(zip(kinds, expected, strict=False), start=1):
            if kind != want:
                raise BankFileError(number, "データ区分", f"is {kind}; a file is a header, data, a trailer and an end")
        if len(kinds) < 3:
            raise BankFileError(len(kinds) + 1, "データ区分", "a file is a header, data, a trailer and an end")
        return rows

    def _split(self, body: bytes) -> list[bytes]:
        body = body.removesuffix(EOF_MARK)
        if CR_LF in body:
            return body.removesuffix(CR_LF).split(CR_LF)
        if len(body) % self.length:
            raise BankFileError(
                len(body) // self.length + 1, "レコード長", f"the file's {len(body)} bytes are not whole records"
            )
        return [body[i : i + self.length] for i in range(0, len(body), self.length)]


def _decode(raw: bytes, number: int) -> str:
    """JIS X 0201 bytes as text: printable ASCII and half-width katakana only."""
    for position, byte in enumerate(raw, start=1):
        if not (0x20 <= byte <= 0x7E or 0xA1 <= byte <= 0xDF):
            raise BankFileError(number, f"byte {position}", f"0x{byte:02X} is not a JIS X 0201 character")
    return raw.decode("cp932")


def n(name: str, label: str, width: int, fixed: str | None = None) -> Field:
    return Field(name, label, width, "N", fixed)


def c(name: str, label: str, width: int) -> Field:
    return Field(name, label, width, "C")


def blank(width: int) -> Field:
    return Field("filler", "ダミー", width, "C")
