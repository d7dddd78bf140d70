"""`table(name, row, column)`: read-only lookup of one cell of a world table.

Names are matched case- and space-insensitively; `table(name)` alone lists the
rows and columns, so a model can discover what to ask for.
"""

from __future__ import annotations

from tracer1.executors.tools.base import (
    Param,
    ToolError,
    ToolResult,
    ToolSpec,
    format_number,
    register_tool,
)
from tracer1.executors.world import Table, World, default_world

MAX_LISTED = 40


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _pick(label: str, wanted: str, options: tuple[str, ...], table: str) -> str:
    for option in options:
        if _key(option) == _key(wanted):
            return option
    shown = ", ".join(options[:MAX_LISTED])
    raise ToolError(f"unknown {label} {wanted[:60]!r} in table {table!r} ({label}s: {shown})")


def lookup(tables: dict[str, Table], name: str, row: str | None = None,
           column: str | None = None) -> ToolResult:
    """One cell (or, with neither row nor column, the table's headers)."""
    table = tables.get(_key(name))
    if table is None:
        raise ToolError(f"unknown table {name[:60]!r} (tables: {', '.join(sorted(tables))})")
    if row is None and column is None:
        return ToolResult(True, (
            f"table {table.name}: {table.description} ({table.unit})\n"
            f"rows: {', '.join(table.rows[:MAX_LISTED])}\n"
            f"columns: {', '.join(table.columns[:MAX_LISTED])}"))
    if row is None or column is None:
        raise ToolError("give both row and column (or neither, to list them)")
    r = _pick("row", row, table.rows, table.name)
    c = _pick("column", column, table.columns, table.name)
    value = table.cells[(r, c)]
    return ToolResult(True, f"{table.name}[{r}, {c}] = {format_number(value)} {table.unit}",
                      value)


@register_tool("table")
def make_table(world: World | None = None) -> ToolSpec:
    tables = (world or default_world()).tables

    def run(name: str, row: str | None = None, column: str | None = None) -> ToolResult:
        return lookup(tables, name, row, column)

    described = "; ".join(f"{t.name}: {t.description} ({t.unit})" for t in tables.values())
    return ToolSpec(
        name="table",
        params=(Param("name", "str", max_chars=64), Param("row", "str", required=False),
                Param("column", "str", required=False)),
        doc=f"look up one cell of a table ({described})",
        run=run,
    )
