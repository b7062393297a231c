"""Sparse retrieval: Okapi BM25 over PostgreSQL's English ``tsvector``, computed in one SQL statement.

``ts_rank_cd`` alone has no inverse document frequency: a user's own name, in every memory they said,
weighs as much as the rare word that identifies the one memory wanted. BM25 weighs each query lexeme by
how rare it is among *this user's* memories (their scope is the corpus), saturates repeated terms (k1) and
normalises by memory length (b). The GIN index finds the memories matching any lexeme; term frequencies
come from the stored ``tsvector`` positions. Scope and visibility are the same conditions the row fetch
uses. (Milvus' built-in BM25 was the alternative: see bench/RESULTS.md for why this one was kept.)
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from api.retrievers.base import SearchQuery, or_tsquery
from memory.retrieval.recipes import Retriever
from memory.retrieval.scoring import Found

K1 = 1.2  # term-frequency saturation: the second mention of a word adds less than the first
B = 0.75  # length normalisation: a match in a short memory says more than in a long one
# A word in about two thirds of a user's memories (their own name, in every fact they stated) does not vote:
# BM25 gives it a tiny weight, but rank fusion only sees ranks, and a ranking by a tiny weight is noise.
IDF_FLOOR = 0.4

BM25 = """
WITH q AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', %s))),
scope AS (
  SELECT memories.memory_id, memories.tsv, memories.tsv_len, memories.text, memories.valid_from, memories.log_offset
  FROM memories
  WHERE {visible}
),
stats AS (SELECT count(*)::float AS n, greatest(avg(tsv_len), 1)::float AS avgdl FROM scope),
hits AS (
  SELECT memory_id, tsv, valid_from, log_offset, tsv_len::float AS dl FROM scope
  WHERE tsv @@ to_tsquery('english', %s) {extra}
),
tf AS (
  SELECT h.memory_id, h.valid_from, h.log_offset, h.dl, u.lexeme, coalesce(array_length(u.positions, 1), 1)::float AS tf
  FROM hits h, unnest(h.tsv) u WHERE u.lexeme IN (SELECT lexeme FROM q)
),
df AS (SELECT lexeme, count(*)::float AS df FROM tf GROUP BY lexeme),
idf AS (SELECT lexeme, ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) AS idf FROM df, stats s)
SELECT tf.memory_id,
       sum(idf.idf * tf.tf * ({k1} + 1) / (tf.tf + {k1} * (1 - {b} + {b} * tf.dl / s.avgdl))) AS score
FROM tf JOIN idf USING (lexeme), stats s
WHERE idf.idf >= {idf_floor}
GROUP BY tf.memory_id, tf.valid_from, tf.log_offset
ORDER BY score DESC, tf.valid_from DESC, coalesce(tf.log_offset, -1) DESC, tf.memory_id
LIMIT %s
"""


class SparseRetriever:
    kind = Retriever.SPARSE

    def __init__(self, pool: AsyncConnectionPool):
        self._pool = pool

    async def retrieve(self, query: SearchQuery) -> list[Found]:
        return await self.matching(query, query.words())

    async def matching(
        self, query: SearchQuery, words: list[str], extra_sql: str = "", extra_params: tuple[Any, ...] = ()
    ) -> list[Found]:
        """Memories matching any of ``words``, best BM25 first (ties: said later first, memory.retrieval.said_order).

        ``extra_sql`` narrows the matches (``AND text ~* %s``); it never changes the corpus statistics."""
        tsquery = or_tsquery(words)
        if not tsquery:
            return []
        visible, params = query.visibility.sql()
        sql = BM25.format(visible=visible, extra=extra_sql, k1=K1, b=B, idf_floor=IDF_FLOOR)
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(sql, [" ".join(words), *params, tsquery, *extra_params, query.limit])
            return [Found(row[0], float(row[1])) for row in await cur.fetchall()]
