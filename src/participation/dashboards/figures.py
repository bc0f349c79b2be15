"""Plotly figures of the dashboards and bulletins, built on the server (titles translated).

Each function returns a ``plotly.graph_objects.Figure``; pages embed ``fig.to_json()`` and
``app.js`` draws it. Every figure has an accessible table beside it on the page and a CSV
endpoint with the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go

from participation.core.i18n import N_
from participation.dashboards.service import GRADE_ORDER, FieldworkRow, TrendPoint, grade_label

Translate = Callable[[str], str]

GRADE_COLOURS = {"excellent": "#1b7f3b", "good": "#0b5cad", "pass": "#b7791f", "fail": "#b3261e"}
SOURCE_COLOURS = {"city": "#0b5cad", "provincial": "#8e44ad", "third_party": "#16a085"}
SOURCE_LABELS = {
    "city": N_("city survey"),
    "provincial": N_("provincial survey"),
    "third_party": N_("third-party survey"),
}
FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'


def _layout(fig: go.Figure, title: str, height: int = 380, **extra: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        template="none",  # plotly.js defaults; a full template costs ~20 ms per figure
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        font={"family": FONT},
        **extra,
    )
    return fig


def ranking_figure(
    units: Sequence[dict[str, Any]], city_score: float | None, title: str, t: Translate
) -> go.Figure:
    """Scores with their confidence intervals (whiskers), best at the top; city mean line."""
    ordered = sorted(units, key=lambda u: (u["rank"], u["code"]))
    names = [f"{u['rank']}. {u['name']}" for u in ordered]
    scores = [round(u["score"], 2) for u in ordered]
    fig = go.Figure(
        go.Scatter(
            x=scores,
            y=names,
            mode="markers",
            marker={
                "color": [GRADE_COLOURS.get(u["grade"], "#555") for u in ordered],
                "size": 8,
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [round(u["ci_high"] - u["score"], 2) for u in ordered],
                "arrayminus": [round(u["score"] - u["ci_low"], 2) for u in ordered],
                "thickness": 1.2,
                "width": 3,
            },
            customdata=[
                [t(grade_label(u["grade"])), u["rank_low"], u["rank_high"]] for u in ordered
            ],
            hovertemplate="%{y}: %{x:.1f} (%{customdata[0]}) · "
            + t(N_("rank interval"))
            + " %{customdata[1]}–%{customdata[2]}<extra></extra>",
            name=t(N_("Score")),
        )
    )
    if city_score is not None:
        fig.add_vline(
            x=city_score,
            line_dash="dash",
            line_color="#5b6777",
            annotation_text=t(N_("city mean")),
            annotation_position="top",
        )
    height = max(260, 22 * len(ordered) + 110)
    return _layout(
        fig,
        title,
        height=height,
        xaxis={"title": t(N_("Composite score (95% CI)"))},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        showlegend=False,
    )


def grades_figure(counts: dict[str, dict[str, int]], t: Translate) -> go.Figure:
    """Number of counties and streets per grade."""
    fig = go.Figure()
    for level, label in (("county", N_("Counties")), ("street", N_("Streets"))):
        fig.add_bar(
            x=[t(grade_label(g)) for g in GRADE_ORDER],
            y=[counts.get(level, {}).get(g, 0) for g in GRADE_ORDER],
            name=t(label),
        )
    return _layout(
        fig,
        t(N_("Units per grade")),
        height=320,
        barmode="group",
        yaxis={"title": t(N_("Number of units"))},
    )


def trend_figure(
    series: Sequence[tuple[str, Sequence[TrendPoint]]], title: str, t: Translate
) -> go.Figure:
    """Lines across waves with their confidence bands (one line per series)."""
    palette = ["#0b5cad", "#8e44ad", "#5b6777", "#16a085", "#b7791f"]
    fig = go.Figure()
    for index, (name, points) in enumerate(series):
        pts = [p for p in points if p.mean is not None]
        if not pts:
            continue
        colour = palette[index % len(palette)]
        x = [p.period_end.isoformat() for p in pts]
        band = [p for p in pts if p.ci_low is not None and p.ci_high is not None]
        if band:
            fig.add_trace(
                go.Scatter(
                    x=[p.period_end.isoformat() for p in band]
                    + [p.period_end.isoformat() for p in reversed(band)],
                    y=[p.ci_high for p in band] + [p.ci_low for p in reversed(band)],
                    fill="toself",
                    fillcolor=colour,
                    opacity=0.15,
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    name=name,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[round(p.mean or 0.0, 2) for p in pts],
                mode="lines+markers",
                line={"color": colour},
                name=name,
                text=[p.wave for p in pts],
                hovertemplate="%{text}: %{y:.1f}<extra>" + name + "</extra>",
            )
        )
    return _layout(
        fig,
        title,
        xaxis={"title": t(N_("End of survey period")), "type": "date"},
        yaxis={"title": t(N_("Satisfaction score (95% CI)"))},
        legend={"orientation": "h", "y": -0.2},
    )


def dimensions_figure(
    dims: Sequence[tuple[str, float | None, float | None, float | None]], t: Translate
) -> go.Figure:
    """A unit's dimension means (with 95% CIs) beside the mean of all units."""
    names = [d[0] for d in dims]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[d[1] for d in dims],
        error_y={"type": "data", "array": [1.96 * (d[2] or 0.0) for d in dims]},
        name=t(N_("This unit")),
        marker_color="#0b5cad",
    )
    fig.add_bar(
        x=names, y=[d[3] for d in dims], name=t(N_("Mean of all units")), marker_color="#c3ccd8"
    )
    return _layout(
        fig,
        t(N_("Dimensions")),
        height=340,
        barmode="group",
        yaxis={"title": t(N_("Score")), "range": [0, 100]},
    )


def map_figure(
    geojson: dict[str, Any], units: Sequence[dict[str, Any]], title: str, t: Translate
) -> go.Figure:
    """A choropleth of composite scores over the loaded unit boundaries."""
    fig = go.Figure(
        go.Choropleth(
            geojson=geojson,
            featureidkey="properties.code",
            locations=[u["code"] for u in units],
            z=[round(u["score"], 2) for u in units],
            text=[u["name"] for u in units],
            colorscale="RdYlGn",
            colorbar={"title": t(N_("Score"))},
            hovertemplate="%{text}: %{z:.1f}<extra></extra>",
        )
    )
    fig.update_geos(fitbounds="locations", visible=False)
    return _layout(fig, title, height=460)


def fieldwork_figure(rows: Sequence[FieldworkRow], t: Translate) -> go.Figure:
    """Completed interviews against the target, per street."""
    names = [r.name for r in rows]
    fig = go.Figure()
    fig.add_bar(x=names, y=[r.completes for r in rows], name=t(N_("Completed interviews")))
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[r.target for r in rows],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 14, "color": "#b3261e"},
            name=t(N_("Target")),
        )
    )
    return _layout(
        fig,
        t(N_("Fieldwork progress per street")),
        height=360,
        xaxis={"automargin": True},
        yaxis={"title": t(N_("Interviews"))},
    )


def sensitivity_figure(
    units: Sequence[dict[str, Any]], scenarios: Sequence[str], t: Translate
) -> go.Figure:
    """Each unit's rank under the scheme's weights and under each alternative."""
    ordered = sorted(units, key=lambda u: (u["rank"], u["code"]))
    names = [u["name"] for u in ordered]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[u["rank"] for u in ordered],
            y=names,
            mode="markers",
            marker={"size": 11, "color": "#1d2733"},
            name=t(N_("Scheme weights")),
        )
    )
    for name in scenarios:
        fig.add_trace(
            go.Scatter(
                x=[u.get("scenario_ranks", {}).get(name) for u in ordered],
                y=names,
                mode="markers",
                marker={"size": 7, "opacity": 0.7},
                name=name,
            )
        )
    return _layout(
        fig,
        t(N_("Ranks under alternative weights")),
        height=max(260, 24 * len(ordered) + 120),
        xaxis={"title": t(N_("Rank")), "dtick": 1},
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        legend={"orientation": "h", "y": -0.15},
    )


def source_label(source: str) -> str:
    """The msgid naming a wave source."""
    return SOURCE_LABELS.get(source, source)


def as_json(fig: go.Figure) -> str:
    """The figure's JSON, safe inside ``<script type="application/json">`` (no ``</``)."""
    return str(fig.to_json()).replace("</", "<\\/")
