"""Reading a damaged SQLite file page by page, the way SQLite's ``.recover`` does.

SQLite itself gives up on a query as soon as it meets a page it cannot read ("database disk
image is malformed"), and one garbled interior page hides every row under it. This reader
does not go through SQLite: it takes the file's pages as they are (with the frames the
write-ahead log committed laid over them, checksums verified), walks every table b-tree from
the roots in ``sqlite_master`` as far as the pages allow, and then reads each table leaf page
no tree reached and the free list does not hold (the rows under a damaged interior page).
What it cannot read it counts: no row is guessed.

File format: https://www.sqlite.org/fileformat2.html (b-tree pages §1.6, records §2.1,
write-ahead log §4). Only what the terminal's journal uses is read: UTF-8 text, table
b-trees; a row that overflows its page (never one of the journal's) is counted unreadable.

>>> varint(bytes([0x81, 0x00]), 0)
(128, 2)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HEADER = b"SQLite format 3\x00"
LEAF_TABLE, INTERIOR_TABLE, LEAF_INDEX, INTERIOR_INDEX = 13, 5, 10, 2
_WAL_MAGIC = {0x377F0682: "<", 0x377F0683: ">"}

Value = int | float | str | bytes | None


class PageError(ValueError):
    """A page, cell or record that does not read as the format says."""


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``pos``: (value, position after it)."""
    value = 0
    for i in range(9):
        if pos + i >= len(buf):
            raise PageError("varint runs past the page")
        byte = buf[pos + i]
        if i == 8:
            return (value << 8) | byte, pos + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + i + 1
    raise AssertionError("unreachable")  # pragma: no cover


def record(payload: bytes) -> list[Value]:
    """The values of one record (§2.1)."""
    size, pos = varint(payload, 0)
    if not 0 < size <= len(payload):
        raise PageError("record header size is out of range")
    types = []
    while pos < size:
        t, pos = varint(payload, pos)
        types.append(t)
    if pos != size:
        raise PageError("record header overruns itself")
    values: list[Value] = []
    body = size
    for t in types:
        if t == 0:
            values.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            if body + n > len(payload):
                raise PageError("integer runs past the record")
            values.append(int.from_bytes(payload[body : body + n], "big", signed=True))
            body += n
        elif t == 7:
            if body + 8 > len(payload):
                raise PageError("real runs past the record")
            values.append(struct.unpack(">d", payload[body : body + 8])[0])
            body += 8
        elif t in (8, 9):
            values.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            if body + n > len(payload):
                raise PageError("text or blob runs past the record")
            raw = payload[body : body + n]
            if t % 2:
                try:
                    values.append(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise PageError("text is not UTF-8") from exc
            else:
                values.append(bytes(raw))
            body += n
        else:
            raise PageError(f"serial type {t} is reserved")
    if body != len(payload):
        raise PageError("record is longer than its values")
    return values


@dataclass(frozen=True, slots=True)
class Row:
    page: int
    rowid: int
    values: list[Value]


@dataclass
class Image:
    """The file's pages as the last commit left them (1-based page numbers)."""

    page_size: int
    usable: int
    pages: dict[int, bytes]
    wal_frames: int = 0
    header_ok: bool = True

    @classmethod
    def read(cls, path: Path, default_page_size: int = 4096) -> Image:
        data = path.read_bytes() if path.exists() else b""
        header_ok = data[:16] == HEADER
        page_size = default_page_size
        reserved = 0
        if header_ok:
            raw = int.from_bytes(data[16:18], "big")
            size = 65536 if raw == 1 else raw
            if size >= 512 and size & (size - 1) == 0:
                page_size, reserved = size, data[20]
            else:
                header_ok = False
        pages = {
            n + 1: data[n * page_size : (n + 1) * page_size] for n in range(len(data) // page_size)
        }
        image = cls(page_size, page_size - reserved, pages, header_ok=header_ok)
        image.overlay_wal(Path(f"{path}-wal"))
        return image

    def overlay_wal(self, wal: Path) -> None:
        """Lay the committed frames of the write-ahead log over the pages (§4.1, §4.3)."""
        if not wal.exists():
            return
        data = wal.read_bytes()
        if len(data) < 32:
            return
        magic, _, size = struct.unpack(">III", data[:12])
        order = _WAL_MAGIC.get(magic)
        if order is None or size != self.page_size:
            return
        salts = data[16:24]
        s = _checksum(data[:24], 0, 0, order)
        if s != struct.unpack(">II", data[24:32]):
            return
        committed: dict[int, bytes] = {}
        pending: dict[int, bytes] = {}
        pos, frames = 32, 0
        while pos + 24 + size <= len(data):
            head, page = data[pos : pos + 24], data[pos + 24 : pos + 24 + size]
            if head[8:16] != salts:
                break
            s = _checksum(page, *_checksum(head[:8], *s, order), order)
            if s != struct.unpack(">II", head[16:24]):
                break
            number, commit = struct.unpack(">II", head[:8])
            pending[number] = page
            if commit:
                committed.update(pending)
                pending.clear()
                frames = (pos - 32) // (24 + size) + 1
            pos += 24 + size
        self.pages.update(committed)
        self.wal_frames = frames

    def header_offset(self, number: int) -> int:
        return 100 if number == 1 else 0

    def kind(self, number: int) -> int | None:
        page = self.pages.get(number)
        if page is None:
            return None
        return page[self.header_offset(number)]

    def cells(self, number: int) -> Iterator[int]:
        """The offsets of the cells of b-tree page ``number``."""
        page = self.pages.get(number)
        if page is None:
            raise PageError(f"page {number} is beyond the end of the file")
        h = self.header_offset(number)
        kind = page[h]
        if kind not in (LEAF_TABLE, INTERIOR_TABLE, LEAF_INDEX, INTERIOR_INDEX):
            raise PageError(f"page {number} is not a b-tree page (type {kind})")
        count = int.from_bytes(page[h + 3 : h + 5], "big")
        start = h + (8 if kind in (LEAF_TABLE, LEAF_INDEX) else 12)
        if start + 2 * count > self.usable:
            raise PageError(f"page {number}: {count} cells do not fit")
        for i in range(count):
            offset = int.from_bytes(page[start + 2 * i : start + 2 * i + 2], "big")
            if not start + 2 * count <= offset < self.usable:
                raise PageError(f"page {number}: cell {i} points outside the page")
            yield offset

    def children(self, number: int) -> list[int]:
        """The child pages of interior table page ``number``."""
        page = self.pages[number]
        h = self.header_offset(number)
        out = [int.from_bytes(page[c : c + 4], "big") for c in self.cells(number)]
        out.append(int.from_bytes(page[h + 8 : h + 12], "big"))
        return out

    def leaf_rows(self, number: int) -> tuple[list[Row], int]:
        """The rows of table leaf page ``number``, and how many of its cells are unreadable."""
        page = self.pages[number]
        rows, bad = [], 0
        for c in self.cells(number):
            try:
                size, pos = varint(page, c)
                rowid, pos = varint(page, pos)
                if size > self.usable - 35 or pos + size > self.usable:
                    raise PageError("overflowing or truncated cell")  # never a journal row
                rows.append(Row(number, rowid, record(page[pos : pos + size])))
            except PageError:
                bad += 1
        return rows, bad

    def freelist(self) -> set[int]:
        """Pages on the free list (trunks and leaves), as far as it can be followed."""
        free: set[int] = set()
        if not self.header_ok:
            return free
        trunk = int.from_bytes(self.pages[1][32:36], "big")
        while trunk and trunk not in free and trunk in self.pages:
            free.add(trunk)
            page = self.pages[trunk]
            count = int.from_bytes(page[4:8], "big")
            if count > (self.usable - 8) // 4:
                break
            free.update(int.from_bytes(page[8 + 4 * i : 12 + 4 * i], "big") for i in range(count))
            trunk = int.from_bytes(page[:4], "big")
        return free


def _checksum(data: bytes, s0: int, s1: int, order: str) -> tuple[int, int]:
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


@dataclass
class Scan:
    """Every row found, by table where a b-tree reached it; what could not be read."""

    tables: dict[str, list[Row]] = field(default_factory=dict)
    orphans: list[Row] = field(default_factory=list)  # leaf pages no tree reached
    bad_pages: set[int] = field(default_factory=set)
    bad_cells: int = 0
    roots_known: bool = True


def scan(image: Image) -> Scan:
    """Walk each table b-tree from its root, then read the leaf pages none reached."""
    out = Scan()
    seen: set[int] = set()
    roots: dict[str, int] = {}
    try:
        for row in _walk(image, 1, seen, out):
            v = row.values
            if len(v) == 5 and v[0] == "table" and isinstance(v[3], int) and isinstance(v[1], str):
                roots[v[1]] = v[3]
    except PageError:
        out.roots_known = False
    for name, root in sorted(roots.items(), key=lambda kv: kv[1]):
        out.tables[name] = list(_walk(image, root, seen, out))
    free = image.freelist()
    for number in sorted(image.pages):
        if number in seen or number in free:
            continue
        kind = image.kind(number)
        if kind == LEAF_TABLE:
            try:
                rows, bad = image.leaf_rows(number)
            except PageError:
                out.bad_pages.add(number)
                continue
            out.orphans.extend(rows)
            out.bad_cells += bad
        elif kind not in (INTERIOR_TABLE, LEAF_INDEX, INTERIOR_INDEX):
            out.bad_pages.add(number)  # garbage (the journal has no overflow pages)
    return out


def _walk(image: Image, root: int, seen: set[int], out: Scan) -> Iterator[Row]:
    """The rows of the table b-tree at ``root``; a page that does not read is counted."""
    stack = [root]
    while stack:
        number = stack.pop()
        if number in seen or number not in image.pages:
            if number not in image.pages:
                out.bad_pages.add(number)
            continue
        seen.add(number)
        kind = image.kind(number)
        try:
            if kind == INTERIOR_TABLE:
                stack.extend(reversed(image.children(number)))
            elif kind == LEAF_TABLE:
                rows, bad = image.leaf_rows(number)
                out.bad_cells += bad
                yield from rows
            else:
                raise PageError(f"page {number} is not a table b-tree page")
        except PageError:
            if number == 1:
                raise
            out.bad_pages.add(number)
