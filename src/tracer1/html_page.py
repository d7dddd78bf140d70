"""One self-contained HTML page from a report folder, for an orchestrator's HTML artifact.

The Kubeflow UI shows an `HTML` artifact by fetching the one file at its URI: a folder (Data
Docs, a report with its PNGs) shows nothing, and a page that links to sibling files or a
CDN shows them broken. These pages are one file each: the Markdown rendered with
markdown-it (already locked), every PNG inlined as a data URI, the style inline.

>>> "<table>" in page("t", "| a |\\n|---|\\n| 1 |")
True
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

STYLE = ("body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;"
         "padding:0 1rem}table{border-collapse:collapse;margin:1rem 0}"
         "td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
         "img{max-width:100%}.fail{color:#b00020}")


def page(title: str, markdown: str, images: list[Path] | tuple[Path, ...] = ()) -> str:
    """`markdown` as one HTML document, `images` (PNG files) inlined after it."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    figures = "".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode("ascii")}"></figure>' for p in images)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f"</title><style>{STYLE}</style></head><body>{body}{figures}</body></html>\n")


def eval_page(report_dir: str | Path) -> str:
    """The evaluation report: its Markdown tables and its figures (`*.png`), one file."""
    from tracer1.evaluation.report import MARKDOWN_FILE

    folder = Path(report_dir)
    markdown = (folder / MARKDOWN_FILE).read_text(encoding="utf-8")
    return page("tracer1 evaluation", markdown, sorted(folder.glob("*.png")))


def validation_page(result: dict[str, Any]) -> str:
    """The data validation verdict (`result.json`): one table row per expectation."""
    verdict = "PASSED" if result.get("success") else "FAILED"
    lines = [f"# Data validation: {verdict}", "",
             f"{result.get('evaluated_expectations', 0)} expectations, "
             f"{result.get('failed_expectations', 0)} failed; "
             f"stats: `{json.dumps(result.get('stats', {}), sort_keys=True)}`", ""]
    if result.get("error"):
        lines += [f"Error: {_cell(result['error'])}", ""]
    lines += ["| table | expectation | met | observed | unexpected | why |",
              "|---|---|---|---|---|---|"]
    for row in result.get("expectations", []):
        lines.append("| " + " | ".join(_cell(row.get(key)) for key in (
            "table", "expectation", "success", "observed_value", "unexpected_count", "why"))
            + " |")
    return page("tracer1 data validation", "\n".join(lines) + "\n")


def _cell(value: Any) -> str:
    """A value as one Markdown table cell (pipes escaped, one line, not too long)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= 200 else text[:197] + "..."


__all__ = ["eval_page", "page", "validation_page"]
