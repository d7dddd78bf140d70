"""`search(query)`: keyword search over the world's facts in an in-memory SQLite FTS5 index.

The query is untrusted model text, and FTS5 has its own query language
(``"``, ``*``, ``NEAR(``, ``OR``, column filters). Rather than escaping that
language we never speak it: the query is cut into word tokens and each token
is passed as a quoted string, so every query is a plain conjunction of words
(falling back to any-word ranking when no document has all of them).

>>> kb = KnowledgeBase([("Varlona", "city", "population: 412300")])
>>> kb.search('varlona" OR population NEAR(')[0][0]
'Varlona'
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable

from tracer1.executors.tools.base import Param, ToolError, ToolResult, ToolSpec, register_tool
from tracer1.executors.world import World, default_world, documents

MAX_QUERY_CHARS = 200
MAX_TOKENS = 8
MAX_TOKEN_CHARS = 40
MAX_RESULTS = 3
MAX_RESULT_CHARS = 300
TITLE_WEIGHT = 10.0  # a name in the title outranks the same name mentioned in a body
_TOKEN = re.compile(r"\w+")


def fts_tokens(query: str) -> list[str]:
    """The word tokens of `query`, bounded in number and length.

    >>> fts_tokens('Mira "Tessaly* NEAR(x')
    ['mira', 'tessaly', 'near', 'x']
    """
    return [t[:MAX_TOKEN_CHARS] for t in _TOKEN.findall(query.lower())][:MAX_TOKENS]


def fts_query(tokens: Iterable[str], operator: str = " ") -> str:
    """An FTS5 MATCH string of quoted tokens: operators inside quotes are plain words."""
    return operator.join('"' + t.replace('"', '""') + '"' for t in tokens)


class KnowledgeBase:
    """Documents (title, kind, body) in an FTS5 table; opened lazily, read-only after build."""

    def __init__(self, docs: Iterable[tuple[str, str, str]]):
        self._docs = list(docs)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection, possibly shared by threads

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # ":memory:" only: the tool can neither read nor write any file.
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, kind, body, "
                         "tokenize='unicode61')")
            conn.executemany("INSERT INTO docs VALUES (?, ?, ?)", self._docs)
            conn.commit()
            self._conn = conn
        return self._conn

    def _match(self, match: str, limit: int) -> list[tuple[str, str, str]]:
        sql = (f"SELECT title, kind, body FROM docs WHERE docs MATCH ? "
               f"ORDER BY bm25(docs, {TITLE_WEIGHT}, 1.0, 1.0), rowid LIMIT ?")
        return self._connect().execute(sql, (match, limit)).fetchall()

    def search(self, query: str, limit: int = MAX_RESULTS) -> list[tuple[str, str, str]]:
        """Documents with every token, best first; else documents with any token."""
        tokens = fts_tokens(query)
        if not tokens:
            raise ToolError("the query has no words to search for")
        try:
            with self._lock:
                return (self._match(fts_query(tokens), limit)
                        or self._match(fts_query(tokens, " OR "), limit))
        except sqlite3.Error as exc:  # defensive: quoted tokens should never fail
            raise ToolError(f"search failed ({type(exc).__name__})") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def format_hits(query: str, hits: list[tuple[str, str, str]]) -> str:
    if not hits:
        return f"no results for {query[:60]!r}"
    lines = [f"{len(hits)} result(s) for {query[:60]!r}:"]
    for i, (title, kind, body) in enumerate(hits, 1):
        line = f"[{i}] {title} ({kind}): {body}"
        lines.append(line if len(line) <= MAX_RESULT_CHARS else line[:MAX_RESULT_CHARS] + "...")
    return "\n".join(lines)


@register_tool("search")
def make_search(world: World | None = None) -> ToolSpec:
    kb = KnowledgeBase(documents(world or default_world()))

    def run(query: str) -> ToolResult:
        hits = kb.search(query)
        return ToolResult(True, format_hits(query, hits), [h[0] for h in hits])

    return ToolSpec(
        name="search",
        params=(Param("query", "str", max_chars=MAX_QUERY_CHARS),),
        doc="keyword search in the knowledge base of cities, people and companies "
            f"(top {MAX_RESULTS} facts)",
        run=run,
        close=kb.close,
    )
