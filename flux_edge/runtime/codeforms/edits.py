"""Position-keeping rewrites of UTF-8 source: blank byte ranges, write text over them."""

from __future__ import annotations

from dataclasses import dataclass, field

from flux_edge.runtime.codeforms.syntax import LINE_TERMINATORS, error_at, utf16_len

# (byte offset in the source, UTF-16 units): where a rewrite made its line longer, and by how much.
Growth = tuple[int, int]

# Every ASCII byte but CR and LF becomes a space.
_ASCII_BLANK = bytes(b if b in (0x0A, 0x0D) else 0x20 for b in range(128)) + bytes(128)


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace bytes [start, end) by spaces (line terminators kept), then write `pieces` over them.

    Each piece is (byte offset, text): the text is written at that offset and takes the place of as
    many following blanks on the same line as it is long, so later columns stay put where it fits.
    `reject` makes the edit an error instead, unless an enclosing edit erases it (TypeScript allows
    `import` or `enum` inside `declare module {}`, for instance).
    """

    start: int
    end: int
    pieces: tuple[tuple[int, str], ...] = ()
    reject: str | None = field(default=None, compare=False)


def blank(segment: bytes) -> bytes:
    """Spaces for every character of UTF-8 `segment` except line terminators.

    A character outside the BMP becomes two spaces: V8 counts columns in UTF-16 code units, and
    this keeps every later column on the line where V8 would have put it.
    """
    if segment.isascii():
        return segment.translate(_ASCII_BLANK)
    return "".join(
        ch if ch in LINE_TERMINATORS else ("  " if ord(ch) > 0xFFFF else " ")
        for ch in segment.decode("utf-8")
    ).encode("utf-8")


def _render(source: bytes, edit: Edit, growths: list[Growth] | None) -> bytes:
    if not edit.pieces:
        return blank(source[edit.start : edit.end])
    out: list[bytes] = []
    pos = edit.start
    debt = 0  # width of the last piece still to be taken from the following blanks
    for offset, text in [*sorted(edit.pieces), (edit.end, "")]:
        gap = blank(source[pos:offset])
        if debt:
            room = len(gap) - len(gap.lstrip(b" "))
            gap = gap[min(debt, room) :]
            if debt > room and growths is not None:
                growths.append((pos, debt - room))
        out.append(gap)
        out.append(text.encode("utf-8"))
        debt = utf16_len(text)
        pos = offset
    return b"".join(out)


def apply(
    source: bytes, edits: list[Edit], tail: str = "", growths: list[Growth] | None = None
) -> str:
    """Apply non-overlapping edits (nested ones are dropped: the outer edit wins) and append `tail`.

    Where a piece does not fit in the blanks after it, its line grows: `growths` (if given)
    receives each such place, in source order, for column_map(). Raises the CodeError of the
    first rejecting edit not erased by an enclosing one.
    """
    out: list[bytes] = []
    pos = 0
    edits.sort(key=_outer_first)
    for edit in edits:
        if edit.start < pos:
            continue  # inside a range already rewritten
        if edit.reject is not None:
            raise error_at(source, edit.start, edit.reject)
        out.append(source[pos : edit.start])
        out.append(_render(source, edit, growths))
        pos = edit.end
    out.append(source[pos:])
    out.append(tail.encode("utf-8"))
    return b"".join(out).decode("utf-8")


def _outer_first(edit: Edit) -> tuple[int, bool, int]:
    # Insertions (empty ranges) go before an edit starting at the same byte, which would hide them.
    return edit.start, edit.end != edit.start, -edit.end


def column_map(source: bytes, growths: list[Growth], first_line: int = 0) -> dict[int, list[int]]:
    """Line -> [generated column, growth, ...] (1-based, UTF-16): how to find a V8-reported
    column of the rewritten source in the original. `first_line` is a prologue's width on line 1.

    A column inside a growth maps to where the piece starts; a column after it moves left by the
    growth (loader.js, originalColumn).
    """
    columns: dict[int, list[int]] = {1: [1, first_line]} if first_line else {}
    line, line_start, pos = 1, 0, 0
    shift_line, shift = 1, first_line
    for offset, width in growths:
        chunk = source[pos:offset].decode("utf-8", errors="replace")
        breaks = sum(chunk.count(t) for t in LINE_TERMINATORS) - chunk.count("\r\n")
        if breaks:
            line += breaks
            last = max(chunk.rfind(t) for t in LINE_TERMINATORS)
            line_start = pos + len(chunk[: last + 1].encode("utf-8", errors="replace"))
        pos = offset
        if line != shift_line:
            shift_line, shift = line, 0
        column = utf16_len(source[line_start:offset].decode("utf-8", errors="replace")) + 1
        columns.setdefault(line, []).extend((column + shift, width))
        shift += width
    return columns
