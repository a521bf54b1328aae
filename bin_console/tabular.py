"""Reading coordinators' spreadsheets: CSV (any of the encodings Belgian PCs produce) and XLSX.

Produces the header and the data rows with their line numbers, or raises FatalFileError with a
reason (unreadable, NUL bytes, too large, no header). Nothing here knows about members or networks.

Encodings: UTF-16 only with a BOM; UTF-8 (BOM optional) when it decodes strictly; otherwise cp1252,
which is what Excel writes on Belgian PCs, and latin-1 where cp1252 has holes (0x81, 0x8D, ...).
For printable text latin-1 and cp1252 differ only in 0x80-0x9F, where cp1252 has letters (€, Š, ...)
and latin-1 control characters, so cp1252 is the right reading whenever it decodes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

MAX_BYTES = 64 * 1024 * 1024  # a 250,000-row province file is ~25-40 MB
MAX_ROWS = 300_000
MAX_XLSX_UNPACKED = 512 * 1024 * 1024  # zip-bomb guard: total uncompressed size of the workbook
FIELD_LIMIT = 1000  # characters in one CSV field
DELIMITERS = (";", ",", "\t")

_csv_lock = threading.Lock()  # csv.field_size_limit is process-wide


class FatalFileError(ValueError):
    """The file as a whole cannot be imported; nothing is written."""


@dataclass
class Table:
    header: list[str]
    header_line: int
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells)
    encoding: str  # utf-8, utf-8-sig, utf-16, cp1252, latin-1, xlsx
    delimiter: str | None


def read_table(path: str | os.PathLike) -> Table:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise FatalFileError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    if size > MAX_BYTES:
        raise FatalFileError(f"file too large ({size // (1024 * 1024)} MB; at most {MAX_BYTES // (1024 * 1024)} MB)")
    if size == 0:
        raise FatalFileError("the file is empty")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise FatalFileError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise FatalFileError("file too large")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    text, encoding = decode(data)
    return _read_csv(text, encoding)


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, enc = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise FatalFileError("the file says UTF-16 (byte order mark) but is not valid UTF-16") from None
    elif b"\x00" in data:
        raise FatalFileError("the file contains NUL bytes: not a text CSV (save it as CSV or XLSX)")
    elif data.startswith(b"\xef\xbb\xbf"):
        try:
            text, enc = data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FatalFileError(
                f"the file says UTF-8 (byte order mark) but byte {exc.start + 3} is not UTF-8"
            ) from None
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
                # without 0x80-0x9F bytes cp1252 and latin-1 read the same; name what the bytes prove
                enc = "cp1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"
            except UnicodeDecodeError:
                text, enc = data.decode("latin-1"), "latin-1"
    if "\x00" in text:
        raise FatalFileError("the file contains NUL characters: not a text CSV")
    return text, enc


def sniff_delimiter(header_line: str) -> str:
    """Count the candidates in the header line (outside quotes); csv.Sniffer guesses wrong on short headers."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: ; before , before TAB
    return best if counts[best] else ";"


def _read_csv(text: str, encoding: str) -> Table:
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise FatalFileError("the file is empty")
    delimiter = sniff_delimiter(first)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    header_line = 0
    with _csv_lock:
        old = csv.field_size_limit(FIELD_LIMIT)
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
            prev = 0
            try:
                for cells in reader:
                    start = prev + 1
                    prev = reader.line_num
                    if not any(c.strip() for c in cells):
                        continue
                    if header is None:
                        header, header_line = cells, start
                        continue
                    rows.append((start, cells))
                    if len(rows) > MAX_ROWS:
                        raise FatalFileError(f"too many rows (more than {MAX_ROWS:,})")
            except csv.Error as exc:
                raise FatalFileError(f"line {reader.line_num}: {exc}") from None
        finally:
            csv.field_size_limit(old)
    if header is None:
        raise FatalFileError("the file is empty")
    return Table(header=header, header_line=header_line, rows=rows, encoding=encoding, delimiter=delimiter)


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def _read_xlsx(path: str | os.PathLike) -> Table:
    import openpyxl

    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile:
        raise FatalFileError("not a valid XLSX file (damaged zip)") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise FatalFileError("workbook too large when unpacked")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a bad workbook
        raise FatalFileError(f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise FatalFileError("the workbook has no sheet")
        header: list[str] | None = None
        header_line = 0
        rows: list[tuple[int, list[str]]] = []
        for line, values in enumerate(_iter_rows(ws), start=1):
            cells = [_cell_text(v) for v in values]
            if any(len(c) > FIELD_LIMIT for c in cells):
                raise FatalFileError(f"line {line}: a cell is longer than {FIELD_LIMIT} characters")
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header, header_line = cells, line
                continue
            rows.append((line, cells))
            if len(rows) > MAX_ROWS:
                raise FatalFileError(f"too many rows (more than {MAX_ROWS:,})")
    finally:
        wb.close()
    if header is None:
        raise FatalFileError("the workbook's first sheet is empty")
    return Table(header=header, header_line=header_line, rows=rows, encoding="xlsx", delimiter=None)


def _iter_rows(ws) -> Iterator[tuple]:  # noqa: ANN001
    yield from ws.iter_rows(values_only=True)
