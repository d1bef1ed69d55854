"""A synthetic vote file shaped like LMArena's battle data, for benchmarks of the readers and replays.

    python benchmarks/make_arena_file.py OUT.parquet [--votes N] [--models M] [--seed S] [--chunk C]

The format follows OUT's extension: ``.parquet`` (one row group per chunk), ``.csv`` (``tags``
as one comma-separated string, ``conv_metadata`` as a JSON string), ``.jsonl``/``.ndjson``.

Provenance and shape. Synthetic, no real votes: the columns and their types copy LMArena's
``clean_battle`` files (FastChat ``fastchat/serve/monitor/clean_battle_data.py``) and the
``arena-human-preference`` releases on Hugging Face. Defaults: N = 10 M votes over M = 300 models.

- ``model_a``, ``model_b`` (str): names like ``gpt-017``. Popularity is skewed (weight of the
  k-th model ~ 1/(k+10)), as on the arena, where new and flagship models get most battles;
  the two sides differ and are in random order.
- ``winner`` (str): ``model_a`` / ``model_b`` / ``tie`` / ``tie (bothbad)``. About 13 % ties and
  15 % both-bad (the arena's proportions); otherwise a Bradley-Terry draw,
  P(A wins) = sigmoid(s_A - s_B + 0.3 * (log tokens_A - log tokens_B)), with strengths
  s ~ N(0, 0.8) drawn from the seed (about 300 Elo points of spread) and a length effect, so
  style control has something to find.
- ``tstamp`` (float64, Unix seconds): strictly increasing over ~2 years from 2023-05-01.
- ``judge`` (str): voter ids ``arena_user_<hex>`` over max(100, N/20) voters with power-law
  activity ~1/(k + c): the heaviest voter casts ~5 % of the votes, most voters a handful.
- ``language`` (str): ~30 languages, geometric shares (English ~50 %, then Chinese, Russian...,
  each 0.8 of the one before).
- ``tags`` (list[str]): 0-3 categories of LMArena's category views (``coding``, ``math``,
  ``hard_prompt``, ``creative_writing``, ``long_query``, ``instruction_following``,
  ``multi_turn``), each drawn independently, the first three kept.
- ``anony`` (bool): ~90 % true.
- ``question_id`` (str): 32 hex digits, unique.
- ``conv_metadata`` (struct): FastChat's ``sum_user_tokens``, ``turns``,
  ``sum_assistant_a_tokens``/``_b_tokens`` (log-normal around each model's verbosity),
  ``header_count_a``/``_b`` ({h1..h6}), ``list_count_a``/``_b`` ({ordered, unordered}),
  ``bold_count_a``/``_b`` ({"**", "__"}) (Poisson counts growing with the answer's length):
  what ``server.files.votefile.CONV_METADATA`` reads as the style features.

Generation is vectorised (numpy + polars) chunk by chunk, each chunk from its own seeded
generator (``SeedSequence(seed).spawn``), so memory is bounded by the chunk and the file
depends only on (N, M, seed, chunk). 10 M votes take ~30 s to Parquet on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

START = 1_682_899_200.0  # 2023-05-01 UTC
SPAN = 2 * 365 * 86_400.0  # two years of votes
TIE, BOTH_BAD = 0.13, 0.15  # the arena's shares of the two tie labels
LENGTH_EFFECT = 0.3  # logit per unit of log(tokens_A / tokens_B)
FAMILIES = ("gpt", "claude", "gemini", "llama", "mistral", "qwen", "deepseek", "yi", "command-r", "phi")
LANGUAGES = (
    "English", "Chinese", "Russian", "German", "Japanese", "Spanish", "French", "Korean", "Portuguese",
    "Italian", "Vietnamese", "Polish", "Arabic", "Turkish", "Indonesian", "Dutch", "Ukrainian", "Persian",
    "Hungarian", "Czech", "Hebrew", "Swedish", "Thai", "Greek", "Hindi", "Finnish", "Romanian", "Danish",
    "Bengali", "unknown",
)  # fmt: skip
HEAVIEST_VOTER = 0.05  # share of the votes cast by the most active voter
ENGLISH = 0.5  # share of the votes in English; the other languages' shares fall geometrically
TAGS = {  # category -> share of votes carrying it
    "hard_prompt": 0.25,
    "coding": 0.18,
    "instruction_following": 0.15,
    "long_query": 0.12,
    "multi_turn": 0.12,
    "creative_writing": 0.10,
    "math": 0.08,
}
HEADERS = tuple(f"h{k}" for k in range(1, 7))


def model_names(m: int) -> list[str]:
    return [f"{FAMILIES[k % len(FAMILIES)]}-{k:03d}" for k in range(m)]


def chunks(votes: int, models: int, seed: int, chunk: int) -> Iterator[pl.DataFrame]:
    """The file's rows, ``chunk`` at a time."""
    root = np.random.SeedSequence(seed)
    setup, *per_chunk = root.spawn(1 + -(-votes // chunk))
    rng = np.random.default_rng(setup)
    strength = rng.normal(0.0, 0.8, models)
    verbosity = rng.normal(6.0, 0.4, models)  # log of a model's typical answer length in tokens
    markdown = rng.gamma(2.0, 0.5, models)  # how much a model formats (headers, lists, bold)
    popularity = 1.0 / (np.arange(models) + 10.0)
    popularity = rng.permutation(popularity / popularity.sum())
    names = pl.Series(model_names(models), dtype=pl.String)
    voters = max(100, votes // 20)
    activity_cdf = np.cumsum(_voter_activity(voters, HEAVIEST_VOTER))
    judges = pl.Series([f"arena_user_{k:06x}" for k in rng.permutation(voters)], dtype=pl.String)
    others = 0.8 ** np.arange(1, len(LANGUAGES))
    language_cdf = np.cumsum([ENGLISH, *(1.0 - ENGLISH) * others / others.sum()])
    languages = pl.Series(LANGUAGES, dtype=pl.String)
    popularity_cdf = np.cumsum(popularity)
    for index, first in enumerate(range(0, votes, chunk)):
        rng = np.random.default_rng(per_chunk[index])
        n = min(chunk, votes - first)
        a = _draw(rng, popularity_cdf, n)
        b = _draw(rng, popularity_cdf, n)
        clash = a == b
        b[clash] = (a[clash] + rng.integers(1, models, int(clash.sum()))) % models
        tokens_a = np.exp(verbosity[a] + rng.normal(0.0, 0.6, n)).round().astype(np.int64) + 1
        tokens_b = np.exp(verbosity[b] + rng.normal(0.0, 0.6, n)).round().astype(np.int64) + 1
        logit = strength[a] - strength[b] + LENGTH_EFFECT * (np.log(tokens_a) - np.log(tokens_b))
        u = rng.random(n)
        winner = np.where(
            u < TIE,
            2,
            np.where(u < TIE + BOTH_BAD, 3, np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-logit)), 0, 1)),
        )
        position = first + np.arange(n) + rng.random(n)  # strictly increasing: one vote per unit slot
        frame = pl.DataFrame(
            {
                "model_a": names.gather(a),
                "model_b": names.gather(b),
                "winner": pl.Series(["model_a", "model_b", "tie", "tie (bothbad)"]).gather(winner),
                "tstamp": START + SPAN * position / votes,
                "judge": judges.gather(_draw(rng, activity_cdf, n)),
                "language": languages.gather(_draw(rng, language_cdf, n)),
                "tags": _tags(rng, n),
                "anony": rng.random(n) < 0.9,
                "question_id": _hex_ids(rng, n),
                "conv_metadata": _conv_metadata(rng, tokens_a, tokens_b, markdown[a], markdown[b]),
            }
        )
        yield frame


def _draw(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn with the probabilities whose cumulative sums are ``cdf``."""
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _voter_activity(voters: int, heaviest: float) -> np.ndarray:
    """Shares of the votes by voter, ~1/(k + c), with c chosen so the first casts ``heaviest`` of them."""
    k = np.arange(voters, dtype=np.float64)
    low, high = 1e-6, float(voters)
    for _ in range(60):  # the first voter's share falls as c grows: bisect on c
        c = (low * high) ** 0.5
        share = 1.0 / (k + c)
        low, high = (c, high) if share[0] / share.sum() > heaviest else (low, c)
    return share / share.sum()


def _hex_ids(rng: np.random.Generator, n: int) -> pl.Series:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, -1] |= 1  # numpy's bytes type drops trailing NULs: keep every id 16 bytes long
    return pl.Series(raw.view("S16").ravel()).bin.encode("hex")


def _tags(rng: np.random.Generator, n: int) -> pl.Series:
    """Per vote, the tags drawn (each with its share), the first three kept."""
    import pyarrow as pa

    carried = rng.random((n, len(TAGS))) < np.array(list(TAGS.values()))
    carried &= np.cumsum(carried, axis=1) <= 3
    offsets = np.concatenate([[0], np.cumsum(carried.sum(axis=1))]).astype(np.int64)
    # Built from offsets and flat values: polars' per-row list expressions took ~3 s per million votes.
    values = pl.Series(list(TAGS)).gather(np.nonzero(carried)[1]).to_arrow()
    return pl.Series("tags", pa.LargeListArray.from_arrays(pa.array(offsets), values))


def _conv_metadata(rng, tokens_a, tokens_b, markdown_a, markdown_b) -> pl.Series:
    n = len(tokens_a)
    fields: dict[str, object] = {
        "sum_user_tokens": rng.lognormal(4.0, 1.0, n).round().astype(np.int64) + 1,
        "turns": rng.geometric(0.75, n).astype(np.int64),
        "sum_assistant_a_tokens": tokens_a,
        "sum_assistant_b_tokens": tokens_b,
    }
    for side, tokens, rate in (("a", tokens_a, markdown_a), ("b", tokens_b, markdown_b)):
        scale = rate * tokens / 400.0  # formatting grows with the answer's length
        fields[f"header_count_{side}"] = pl.DataFrame(
            {h: rng.poisson(scale * w) for h, w in zip(HEADERS, (0.2, 0.8, 1.0, 0.3, 0.05, 0.02))}
        ).to_struct()
        fields[f"list_count_{side}"] = pl.DataFrame(
            {"ordered": rng.poisson(scale * 1.5), "unordered": rng.poisson(scale * 2.5)}
        ).to_struct()
        fields[f"bold_count_{side}"] = pl.DataFrame(
            {"**": rng.poisson(scale * 3.0), "__": rng.poisson(scale * 0.1)}
        ).to_struct()
    return pl.DataFrame(fields).to_struct("conv_metadata")


def for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV holds no lists or structs: tags comma-separated, conv_metadata as JSON (as the reader takes them)."""
    return frame.with_columns(
        pl.col("tags").list.join(","),
        pl.col("conv_metadata").struct.json_encode(),
    )


def write(path: Path, votes: int, models: int, seed: int, chunk: int = 1_000_000) -> None:
    """Write the file (format by extension) chunk by chunk."""
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl", ".ndjson"):
        raise ValueError(f"{path}: use .parquet, .csv or .jsonl")
    if votes < 1 or models < 2:
        raise ValueError("need at least one vote and two models")
    rows = chunks(votes, models, seed, chunk)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        writer = None
        try:
            for frame in rows:
                table = frame.to_arrow()
                writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        return
    with path.open("wb") as out:
        for k, frame in enumerate(rows):
            if suffix == ".csv":
                for_csv(frame).write_csv(out, include_header=k == 0)
            else:
                frame.write_ndjson(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the file to write (.parquet, .csv or .jsonl)")
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows generated (and per row group) at a time")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        write(args.out, args.votes, args.models, args.seed, args.chunk)
    except ValueError as exc:
        parser.error(str(exc))
    size = args.out.stat().st_size
    print(f"{args.out}: {args.votes:,} votes over {args.models} models, {size / 1e6:.0f} MB "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
