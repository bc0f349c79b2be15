"""Dashboards: city overview, unit pages and fieldwork progress (pages and per-chart CSV)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from participation.accounts.roles import Role
from participation.core.deps import DB, Locale
from participation.core.errors import NotFoundError
from participation.core.i18n import N_, gettext
from participation.core.web import UserDep, admits, render
from participation.dashboards import figures, service
from participation.scoring.config import GRADE_LABELS, KIND_LABELS
from participation.scoring.service import to_csv

VIEWERS = (Role.ADMINISTRATOR, Role.OFFICIAL, Role.SUPERVISOR)


def _t(locale: str) -> figures.Translate:
    return lambda msg: gettext(msg, locale)


def csv_response(rows: list[list[Any]], filename: str) -> Response[bytes]:
    """A CSV download."""
    return Response(
        content=to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def overview_context(db: DB, scope: service.Scope, locale: str) -> dict[str, Any]:
    """Data and figures of the overview page (timed by ``benchmarks/overview.py``)."""
    data = service.overview(db, scope)
    t = _t(locale)
    figs: dict[str, str] = {}
    if data is not None:
        city_score = data.city["score"] if data.city else None
        if data.counties:
            figs["county-ranking"] = figures.as_json(
                figures.ranking_figure(
                    data.counties, city_score, t(N_("Counties: composite score and 95% CI")), t
                )
            )
        if data.streets:
            figs["street-ranking"] = figures.as_json(
                figures.ranking_figure(
                    data.streets, city_score, t(N_("Streets: composite score and 95% CI")), t
                )
            )
        figs["grades"] = figures.as_json(figures.grades_figure(data.grade_counts, t))
        if data.trend:
            figs["city-trend"] = figures.as_json(
                figures.trend_figure(
                    [(t(N_("City")), data.trend)], t(N_("City satisfaction across waves")), t
                )
            )
        if data.scenarios and data.counties:
            figs["sensitivity"] = figures.as_json(
                figures.sensitivity_figure(data.counties, data.scenarios, t)
            )
        if data.boundaries is not None:
            mapped = data.counties if data.counties else data.streets
            figs["map"] = figures.as_json(
                figures.map_figure(data.boundaries, mapped, t(N_("Map of composite scores")), t)
            )
    return {
        "data": data,
        "figs": figs,
        "grade_labels": GRADE_LABELS,
        "kind_labels": KIND_LABELS,
        "grade_order": service.GRADE_ORDER,
    }


@get("/dashboards", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True)
def overview_page(
    request: Request[Any, Any, Any], db: DB, user: UserDep, locale: Locale
) -> Template:
    """City overview: rankings with CIs, grades, lists, trend, sensitivity, map."""
    scope = service.scope_for(db, user.unit_code, user.role)
    return render(request, "dashboards/overview.html", **overview_context(db, scope, locale))


def _rank_rows(units: list[dict[str, Any]], t: figures.Translate) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [
            t(N_("Rank")),
            t(N_("Rank interval")),
            t(N_("Code")),
            t(N_("Name")),
            t(N_("Score")),
            t(N_("95% CI low")),
            t(N_("95% CI high")),
            t(N_("Grade")),
        ]
    ]
    for u in units:
        rows.append(
            [
                u["rank"],
                f"{u['rank_low']}-{u['rank_high']}",
                u["code"],
                u["name"],
                round(u["score"], 2),
                round(u["ci_low"], 2),
                round(u["ci_high"], 2),
                t(GRADE_LABELS.get(u["grade"], u["grade"])),
            ]
        )
    return rows


OVERVIEW_CHARTS = ("county-ranking", "street-ranking", "grades", "city-trend", "sensitivity", "map")


@get(
    "/dashboards/csv/{name:str}",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def overview_csv(db: DB, user: UserDep, locale: Locale, name: FromPath[str]) -> Response[bytes]:
    """The numbers behind one overview chart, as CSV (``street-ranking.csv``, …)."""
    chart = name.removesuffix(".csv")
    if chart not in OVERVIEW_CHARTS:
        raise NotFoundError(N_("No chart %(name)s."), field="name", name=name)
    t = _t(locale)
    data = service.overview(db, service.scope_for(db, user.unit_code, user.role))
    rows: list[list[Any]] = []
    if chart in ("county-ranking", "street-ranking", "map"):
        units = (data.counties if chart != "street-ranking" else data.streets) if data else []
        rows = _rank_rows(units, t)
    elif chart == "grades":
        rows = [[t(N_("Grade")), t(N_("Counties")), t(N_("Streets"))]]
        for g in service.GRADE_ORDER:
            counts = data.grade_counts if data else {}
            rows.append(
                [
                    t(GRADE_LABELS[g]),
                    counts.get("county", {}).get(g, 0),
                    counts.get("street", {}).get(g, 0),
                ]
            )
    elif chart == "city-trend":
        rows = [
            [
                t(N_("Wave")),
                t(N_("Source")),
                t(N_("End of survey period")),
                t(N_("Score")),
                t(N_("95% CI low")),
                t(N_("95% CI high")),
                t(N_("Interviews")),
            ]
        ]
        for p in data.trend if data else []:
            rows.append(
                [
                    p.wave,
                    t(figures.source_label(p.source)),
                    p.period_end.isoformat(),
                    _r(p.mean),
                    _r(p.ci_low),
                    _r(p.ci_high),
                    p.n,
                ]
            )
    else:
        scenarios = data.scenarios if data else []
        rows = [
            [
                t(N_("Level")),
                t(N_("Code")),
                t(N_("Name")),
                t(N_("Rank")),
                *scenarios,
                t(N_("Median rank shift")),
                t(N_("Largest rank shift")),
            ]
        ]
        for level, units in (
            ("county", data.counties if data else []),
            ("street", data.streets if data else []),
        ):
            for u in units:
                rows.append(
                    [
                        t(level),
                        u["code"],
                        u["name"],
                        u["rank"],
                        *[u["scenario_ranks"].get(s) for s in scenarios],
                        u["median_rank_shift"],
                        u["max_rank_shift"],
                    ]
                )
    return csv_response(rows, f"{chart}.csv")


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@get(
    "/dashboards/units/{code:str}",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def unit_page(
    request: Request[Any, Any, Any], db: DB, user: UserDep, locale: Locale, code: FromPath[str]
) -> Template:
    """A street or county: trend with CI bands, dimensions, comparison, platform panels."""
    scope = service.scope_for(db, user.unit_code, user.role)
    data = service.unit_page(db, scope, code)
    t = _t(locale)
    series: list[tuple[str, list[service.TrendPoint]]] = []
    for source in ("city", "provincial", "third_party"):
        points = [p for p in data.trend if p.source == source]
        if points:
            series.append((f"{data.unit.name} · {t(figures.source_label(source))}", points))
    if data.county is not None:
        points = [p for p in data.county_trend if p.source == "city"]
        if points:
            series.append((data.county.name, points))
    city_points = [p for p in data.city_trend if p.source == "city"]
    if city_points:
        series.append((t(N_("City")), city_points))
    figs = {
        "unit-trend": figures.as_json(
            figures.trend_figure(series, t(N_("Satisfaction across waves")), t)
        )
    }
    if data.dimensions:
        figs["unit-dimensions"] = figures.as_json(figures.dimensions_figure(data.dimensions, t))
    return render(
        request,
        "dashboards/unit.html",
        data=data,
        figs=figs,
        grade_labels=GRADE_LABELS,
        source_label=figures.source_label,
    )


@get(
    "/dashboards/units/{code:str}/csv/{name:str}",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def unit_csv(
    db: DB, user: UserDep, locale: Locale, code: FromPath[str], name: FromPath[str]
) -> Response[bytes]:
    """The numbers behind a unit chart (``trend.csv`` or ``dimensions.csv``)."""
    chart = name.removesuffix(".csv")
    scope = service.scope_for(db, user.unit_code, user.role)
    data = service.unit_page(db, scope, code)
    t = _t(locale)
    if chart == "trend":
        rows: list[list[Any]] = [
            [
                t(N_("Unit")),
                t(N_("Wave")),
                t(N_("Source")),
                t(N_("End of survey period")),
                t(N_("Score")),
                t(N_("95% CI low")),
                t(N_("95% CI high")),
                t(N_("Interviews")),
            ]
        ]
        for unit_name, points in (
            (data.unit.name, data.trend),
            (data.county.name if data.county else "", data.county_trend),
            (t(N_("City")), data.city_trend),
        ):
            for p in points:
                rows.append(
                    [
                        unit_name,
                        p.wave,
                        t(figures.source_label(p.source)),
                        p.period_end.isoformat(),
                        _r(p.mean),
                        _r(p.ci_low),
                        _r(p.ci_high),
                        p.n,
                    ]
                )
    elif chart == "dimensions":
        rows = [
            [
                t(N_("Dimension")),
                t(N_("This unit")),
                t(N_("Standard error")),
                t(N_("Mean of all units")),
            ]
        ]
        rows += [[d[0], _r(d[1]), _r(d[2]), _r(d[3])] for d in data.dimensions]
    else:
        raise NotFoundError(N_("No chart %(name)s."), field="name", name=name)
    return csv_response(rows, f"{code}-{chart}.csv")


@get("/dashboards/fieldwork", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True)
def fieldwork_page(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    locale: Locale,
    wave: FromQuery[int | None] = None,
) -> Template:
    """Fieldwork progress per street against the target, with response rates."""
    scope = service.scope_for(db, user.unit_code, user.role)
    current, rows = service.fieldwork(db, scope, wave)
    t = _t(locale)
    figs = {"fieldwork": figures.as_json(figures.fieldwork_figure(rows, t))} if rows else {}
    totals = {
        "target": sum(r.target for r in rows),
        "completes": sum(r.completes for r in rows),
        "cases": sum(r.cases for r in rows),
    }
    return render(
        request,
        "dashboards/fieldwork.html",
        wave=current,
        waves=service.fieldwork_waves(db),
        rows=rows,
        figs=figs,
        totals=totals,
    )


@get(
    "/dashboards/fieldwork.csv", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True
)
def fieldwork_csv(
    db: DB, user: UserDep, locale: Locale, wave: FromQuery[int | None] = None
) -> Response[bytes]:
    """Fieldwork progress per street, as CSV."""
    scope = service.scope_for(db, user.unit_code, user.role)
    _current, rows = service.fieldwork(db, scope, wave)
    t = _t(locale)
    out: list[list[Any]] = [
        [
            t(N_("Code")),
            t(N_("Name")),
            t(N_("Target")),
            t(N_("Cases")),
            t(N_("Released")),
            t(N_("Completed interviews")),
            t(N_("Refusals")),
            t(N_("Progress")),
            t(N_("Response rate")),
            "RR3",
            "COOP3",
        ]
    ]
    for r in rows:
        out.append(
            [
                r.code,
                r.name,
                r.target,
                r.cases,
                r.released,
                r.completes,
                r.refusals,
                _r(r.progress),
                _r(r.response_rate),
                _r(r.rr3),
                _r(r.coop3),
            ]
        )
    return csv_response(out, "fieldwork.csv")


route_handlers: list[Any] = [
    overview_page,
    overview_csv,
    unit_page,
    unit_csv,
    fieldwork_page,
    fieldwork_csv,
]
