"""`GET /report`: `reev report` over the database's finished executions, as JSON, Markdown or
a self-contained HTML page (`?format=`). `?agents=` (repeatable) picks and orders the agents
compared; without it every agent is in, in the order they first ran."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse

from reev.service.deps import DbSession

router = APIRouter()


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    MARKDOWN = "markdown"


@router.get(
    "/report",
    response_model=None,
    responses={
        404: {"description": "no finished executions of those agents"},
        503: {"description": "the `analysis` extra (numpy, scipy, …) is not installed"},
    },
)
def report(
    session: DbSession,
    agents: Annotated[list[str] | None, Query(max_length=20)] = None,
    format: ReportFormat = ReportFormat.JSON,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    resamples: Annotated[int, Query(ge=100, le=20_000)] = 2_000,
) -> dict[str, Any] | HTMLResponse | PlainTextResponse:
    from reev.analysis.deps import missing

    absent = missing()
    if absent:
        raise HTTPException(503, f"reports need {', '.join(absent)}: pip install 'reev[analysis]'")
    from reev.analysis.database import dataset_of
    from reev.analysis.render import html_page, markdown
    from reev.analysis.report import build_report
    from reev.analysis.sources import Dataset

    wanted = list(dict.fromkeys(agents)) if agents else None
    data = dataset_of(session, wanted)
    if wanted:  # the order asked for: A is the first agent named
        order = {name: i for i, name in enumerate(wanted)}
        data = Dataset(data.runs, sorted(data.episodes, key=lambda e: order[e.agent]))
    if not data.episodes:
        which = f" of {', '.join(wanted)}" if wanted else ""
        raise HTTPException(404, f"no finished executions{which}")
    result = build_report(data, seed=seed, resamples=resamples)
    if format is ReportFormat.HTML:
        return HTMLResponse(html_page(result))
    if format is ReportFormat.MARKDOWN:
        return PlainTextResponse(markdown(result), media_type="text/markdown")
    return result
