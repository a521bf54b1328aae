"""Reading coordinators' spreadsheets: CSV (any of the encodings Belgian PCs produce) and XLSX.

Produces the header and the data rows with their line numbers, or raises FatalFileError with a
reason (unreadable, NUL bytes, too large, too many rows, no header). A record that cannot be read (a
stray or unclosed quote, a cell over FIELD_LIMIT, an Excel error value) is one row error with its
first line and a hint, and reading goes on at the next line. Nothing here knows about members or networks.

Encodings: UTF-16 only with a BOM; UTF-8 (BOM optional) when it decodes strictly; a file with both
UTF-8 sequences and non-UTF-8 bytes is refused (mixed encodings); otherwise cp1252, which is what
Excel writes on Belgian PCs, each byte where cp1252 has a hole (0x81, 0x8D, ...) read as latin-1.
For printable text latin-1 and cp1252 differ only in 0x80-0x9F, where cp1252 has letters (€, Š, ...)
and latin-1 control characters, so cp1252 is the right reading whenever it decodes.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import threading
import zipfile
import zlib
from dataclasses import dataclass, field

from bin_console.i18n import N_, _, number

MAX_BYTES = 64 * 1024 * 1024  # a 250,000-row province file is ~25-40 MB
MAX_ROWS = 300_000
MAX_XLSX_UNPACKED = 512 * 1024 * 1024  # zip-bomb guard: total uncompressed size of the workbook
FIELD_LIMIT = 1000  # characters in one CSV field
DELIMITERS = (";", ",", "\t")

HEADER_LINE = N_("line {line} (the header): {reason}")
TOO_MANY_ROWS = N_("too many rows (more than {limit})")

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
    # rows refused while reading (not in ``rows``): (line, column title, reason)
    row_errors: list[tuple[int, str, str]] = field(default_factory=list)


def read_table(path: str | os.PathLike) -> Table:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise FatalFileError(_cannot_read(path, exc)) from None
    if size > MAX_BYTES:
        raise FatalFileError(
            _("file too large ({size} MB; at most {limit} MB)").format(
                size=size // (1024 * 1024), limit=MAX_BYTES // (1024 * 1024)
            )
        )
    if size == 0:
        raise FatalFileError(_(EMPTY))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise FatalFileError(_cannot_read(path, exc)) from None
    if len(data) > MAX_BYTES:
        raise FatalFileError(_("file too large"))
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    text, encoding = decode(data)
    return _read_csv(text, encoding)


EMPTY = N_("the file is empty")


def _cannot_read(path: str | os.PathLike, exc: OSError) -> str:
    # strerror comes from the C library in its own (process) locale: quoted as it is
    return _("cannot read {file}: {error}").format(file=os.fspath(path), error=exc.strerror or exc)


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, enc = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise FatalFileError(_("the file says UTF-16 (byte order mark) but is not valid UTF-16")) from None
    elif b"\x00" in data:
        raise FatalFileError(_("the file contains NUL bytes: not a text CSV (save it as CSV or XLSX)"))
    elif data.startswith(b"\xef\xbb\xbf"):
        try:
            text, enc = data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FatalFileError(
                _("the file says UTF-8 (byte order mark) but byte {byte} is not UTF-8").format(byte=exc.start + 3)
            ) from None
    else:
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            if _UTF8_MULTIBYTE.search(data):
                # UTF-8 with a line pasted from a cp1252 file: neither reading is right for the whole file
                line = data.count(b"\n", 0, exc.start) + 1
                raise FatalFileError(
                    _(
                        "mixed encodings: the file is UTF-8 but line {line} is not (first non-UTF-8 byte on line"
                        " {line}); save the whole file again as CSV UTF-8"
                    ).format(line=line)
                ) from None
            # cp1252's five undefined bytes are read one by one as latin-1 (a control character that
            # validation refuses in that cell), not by switching the whole file's reading
            text = data.decode("cp1252", errors=_CP1252_HOLES)
            # without 0x80-0x9F bytes cp1252 and latin-1 read the same; name what the bytes prove
            enc = "cp1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"
    if "\x00" in text:
        raise FatalFileError(_("the file contains NUL characters: not a text CSV"))
    return text, enc


# A well-formed UTF-8 multi-byte sequence (RFC 3629): cp1252 text almost never contains one by chance.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_CP1252_HOLES = "bin-console-cp1252-holes"


def _latin1_for_holes(e: UnicodeError) -> tuple[str, int]:
    """The five bytes cp1252 leaves undefined decode as their Latin-1 (C1) characters."""
    if not isinstance(e, UnicodeDecodeError):
        raise e
    return e.object[e.start : e.end].decode("latin-1"), e.end


codecs.register_error(_CP1252_HOLES, _latin1_for_holes)


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


class _Lines:
    """The file's physical lines for csv.reader, with a position the reader can be rewound to.

    csv.reader starts every record afresh (its state is reset on each next()), so after a bad record
    the position is set back to the line after the one where that record began: one broken line
    (a stray quote, an unclosed quote that swallowed the following lines) costs that line only.
    """

    def __init__(self, text: str):
        # StringIO with newline="" splits on \n, \r and \r\n only, as csv expects; str.splitlines
        # would also split on \v, \f, U+2028..., which may sit inside a cell
        self.lines = list(io.StringIO(text, newline=""))
        self.pos = 0  # index of the next line to hand out

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _csv_hint(exc: csv.Error, start: int, end: int, *, at_end: bool) -> str:
    """What a coordinator can do about a record csv refused; ``start``..``end`` are its lines."""
    msg = str(exc)
    if "field limit" in msg and start == end:
        return _(TOO_LONG).format(limit=FIELD_LIMIT)
    if start < end:
        # the cell kept going past its line: its opening quote has no closing quote where it should
        return _(
            'a quote (") opened on this line is not closed: the cell ran on to line {line}; close the quote or'
            " remove it"
        ).format(line=end)
    if at_end:
        return _('a quote (") opened on this line is not closed; close the quote or remove it')
    if "expected after" in msg:
        return _(
            'a quote (") inside a cell that does not start with one, e.g. =HYPERLINK("..."):'
            " put the whole cell in quotes and double its quotes, or remove them"
        )
    return _("not readable as CSV ({error})").format(error=msg)


TOO_LONG = N_("a cell longer than {limit} characters")


def _read_csv(text: str, encoding: str) -> Table:
    first = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first is None:
        raise FatalFileError(_(EMPTY))
    delimiter = sniff_delimiter(first)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    header_line = 0
    errors: list[tuple[int, str, str]] = []
    src = _Lines(text)
    with _csv_lock:
        old = csv.field_size_limit(FIELD_LIMIT)
        try:
            reader = csv.reader(src, delimiter=delimiter, strict=True)
            while True:
                start = src.pos + 1  # the record's first line (1-based)
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    hint = _csv_hint(exc, start, src.pos, at_end=src.pos >= len(src.lines))
                    if header is None:
                        raise FatalFileError(_(HEADER_LINE).format(line=start, reason=hint)) from None
                    errors.append((start, "-", hint))
                    src.pos = start  # go on with the next line: the rest of the file is not lost
                    continue
                if not any(c.strip() for c in cells):
                    continue
                if header is None:
                    header, header_line = cells, start
                    continue
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                    # a stray separator shifted the row: its values would land in the wrong columns
                    shifted = _("{cells} cells but the header has {columns} columns")
                    errors.append((start, "-", shifted.format(cells=len(cells), columns=len(header))))
                else:
                    rows.append((start, cells))
                if len(rows) + len(errors) > MAX_ROWS:
                    raise FatalFileError(_(TOO_MANY_ROWS).format(limit=number(MAX_ROWS)))
        finally:
            csv.field_size_limit(old)
    if header is None:
        raise FatalFileError(_(EMPTY))
    return Table(header, header_line, rows, encoding, delimiter, errors)


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
    from openpyxl.cell.cell import ERROR_CODES

    error_codes = frozenset(ERROR_CODES)
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
            formulas = _has_formulas(z)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise FatalFileError(
            _("not a valid XLSX file (damaged zip: {error})").format(error=type(exc).__name__)
        ) from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise FatalFileError(_("workbook too large when unpacked"))
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a bad workbook
        raise FatalFileError(
            _("not a readable XLSX workbook: {error}").format(error=f"{type(exc).__name__}: {exc}")
        ) from None
    try:
        if not wb.worksheets:
            raise FatalFileError(_("the workbook has no sheet"))
        header: list[str] | None = None
        header_line = 0
        rows: list[tuple[int, list[str]]] = []
        errors: list[tuple[int, str, str]] = []
        line = 0
        try:
            ws = wb.worksheets[0]
            # a formula without a saved result reads as a blank cell: find those to refuse their rows
            unsaved = _unsaved_formulas(path, ws) if formulas else {}
            # read-only mode stops at the sheet's <dimension>, which some writers get wrong: read every row
            ws.reset_dimensions()
            # rows come from row 1 on (missing ones as empty tuples): the count is the sheet's row number
            for line, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                unsaved_col = unsaved.get(line)
                if not any(c.strip() for c in cells) and unsaved_col is None:
                    continue
                bad = (unsaved_col, _(_UNSAVED)) if unsaved_col is not None else _bad_cell(cells, error_codes)
                if header is None:
                    if bad is not None:
                        raise FatalFileError(_(HEADER_LINE).format(line=line, reason=bad[1]))
                    header, header_line = cells, line
                    continue
                if bad is not None:
                    col = header[bad[0]] if bad[0] < len(header) else ""
                    errors.append((line, col or "-", bad[1]))
                else:
                    rows.append((line, cells))
                if len(rows) + len(errors) > MAX_ROWS:
                    raise FatalFileError(_(TOO_MANY_ROWS).format(limit=number(MAX_ROWS)))
        except FatalFileError:
            raise
        except Exception as exc:  # a damaged sheet (bad XML, bad zip member) fails part-way
            raise FatalFileError(
                _("line {line}: the workbook is damaged ({error})").format(line=line + 1, error=type(exc).__name__)
            ) from None
    finally:
        wb.close()
    if header is None:
        raise FatalFileError(_("the workbook's first sheet is empty"))
    return Table(header, header_line, rows, "xlsx", None, errors)


def _bad_cell(cells: list[str], error_codes: frozenset[str]) -> tuple[int, str] | None:
    """(0-based column, reason) of the first cell that cannot be imported: too long, or an Excel error value."""
    for i, c in enumerate(cells):
        if len(c) > FIELD_LIMIT:
            return i, _(TOO_LONG).format(limit=FIELD_LIMIT)
        if c[:1] == "#" and c in error_codes:
            # openpyxl gives a formula's saved error (#REF!, #N/A...) as that text: it is not the value
            return i, _(
                "the cell holds the Excel error {error} (fix the formula or type the value, then import again)"
            ).format(error=c)
    return None


_UNSAVED = N_("a formula without a saved result (open the file in Excel or LibreOffice, save it, and import again)")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")


def _has_formulas(z: zipfile.ZipFile) -> bool:
    """Whether any worksheet holds a formula; most files have none, and then one pass is enough."""
    for info in z.infolist():
        if not info.filename.startswith("xl/worksheets/"):
            continue
        tail = b""
        with z.open(info) as fh:
            while chunk := fh.read(1 << 20):
                if _FORMULA_TAG.search(tail + chunk):
                    return True
                tail = chunk[-8:]
    return False


def _unsaved_formulas(path: str | os.PathLike, ws) -> dict[int, int]:
    """Sheet row number -> 0-based column of its first formula cell without a saved value.

    openpyxl's data_only reading gives None both for a blank cell and for such a formula (a file
    written by a script, never opened in Excel), so the sheet's XML is read here.
    """
    from openpyxl.utils import column_index_from_string
    from openpyxl.xml.functions import iterparse

    out: dict[int, int] = {}
    row = col = 0
    with zipfile.ZipFile(path) as z, z.open(ws._worksheet_path) as src:  # private: openpyxl has no public accessor
        for _event, el in iterparse(src):
            if el.tag == _MAIN_NS + "c":
                m = _CELL_REF.fullmatch(el.get("r") or "")
                col = column_index_from_string(m.group(1)) if m else col + 1
                if el.find(_MAIN_NS + "f") is not None and _no_saved_value(el):
                    out.setdefault(int(m.group(2)) if m else row + 1, col - 1)
            elif el.tag == _MAIN_NS + "row":
                row, col = int(el.get("r") or row + 1), 0
                el.clear()
    return out


def _no_saved_value(cell) -> bool:
    """No <v>, or an empty one (openpyxl writes <v/>); an empty text result is t="str" with an empty <v>."""
    v = cell.find(_MAIN_NS + "v")
    return v is None or (not v.text and cell.get("t") != "str")
