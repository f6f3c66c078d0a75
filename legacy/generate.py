"""`cutover generate`: fill a legacy database with synthetic CID cases and write the manifest."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from legacy.defects import inject_defects
from legacy.generator import CaseGenerator, GeneratorConfig
from legacy.model import Row
from legacy.writer import prepare_legacy, write_rows

CHUNK = 2000


@dataclass
class GenerateResult:
    """What a generation run wrote."""

    cases: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    defects: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def manifest(self, seed: int) -> dict:
        """The manifest in the format CID-SCHEMA.md gives, each list sorted and de-duplicated."""
        return {
            "seed": seed, "cases": self.cases,
            "defects": {k: sorted(set(v)) for k, v in sorted(self.defects.items())},
        }


def _chunk_rows(config: GeneratorConfig, first: int, last: int) -> tuple[dict[str, list[Row]], dict[str, list[str]]]:
    gen = CaseGenerator(config)
    tables: dict[str, list[Row]] = defaultdict(list)
    defects: dict[str, list[str]] = defaultdict(list)
    for case_id in range(first, last + 1):
        case = gen.generate(case_id)
        inject_defects(gen, case)
        for name, rows in case.rows_by_table().items():
            tables[name].extend(rows)
        for defect in case.defects:
            defects[defect].append(case.header["CASE_REF"])
        for defect, refs in case.also_touches.items():
            defects[defect].extend(refs)
    return dict(tables), dict(defects)


def _chunks(cases: int) -> Iterator[tuple[int, int]]:
    for first in range(1, cases + 1, CHUNK):
        yield first, min(cases, first + CHUNK - 1)


def generate_legacy(engine: Engine, config: GeneratorConfig, *, replace: bool = False,
                    manifest: Path | None = None, workers: int = 1,
                    progress: Callable[[int], None] | None = None) -> GenerateResult:
    """Generate config.cases cases into the legacy database, chunk by chunk, memory flat."""
    prepare_legacy(engine, replace=replace)
    result = GenerateResult()
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        chunks = list(_chunks(config.cases))
        produced = (
            pool.map(_chunk_rows, [config] * len(chunks), *zip(*chunks, strict=True), chunksize=1)
            if pool and chunks else (_chunk_rows(config, a, b) for a, b in chunks)
        )
        for (first, last), (tables, defects) in zip(chunks, produced, strict=True):
            with engine.begin() as conn:
                write_rows(conn, tables)
            for name, rows in tables.items():
                result.rows[name] += len(rows)
            for defect, refs in defects.items():
                result.defects[defect].extend(refs)
            result.cases += last - first + 1
            if progress:
                progress(last - first + 1)
    finally:
        if pool:
            pool.shutdown()
    if manifest is not None:
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(result.manifest(config.seed), indent=1) + "\n")
    return result
