"""Plotly figures of the problems pages, built on the server (titles translated); the page
embeds the JSON and ``app.js`` draws it, with the same numbers in a table beside it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import plotly.graph_objects as go

from participation.core.i18n import N_
from participation.volunteers.schemas import RateRowOut

FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'


def rates_figure(rows: Sequence[RateRowOut], t: Callable[[str], str]) -> go.Figure:
    """Rectification rate and on-time rate (%) of the streets that had problems."""
    shown = [r for r in rows if r.total]
    names = [r.street_name or r.street_code for r in shown]

    def pct(v: float | None) -> float | None:
        return None if v is None else round(100 * v, 1)

    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[pct(r.rate) for r in shown],
        name=t(N_("Rectification rate")),
        marker_color="#0b5cad",
    )
    fig.add_bar(
        x=names,
        y=[pct(r.on_time_rate) for r in shown],
        name=t(N_("On-time rate")),
        marker_color="#1b7f3b",
    )
    fig.update_layout(
        title={"text": t(N_("Rectification per street")), "x": 0.01},
        template="none",
        barmode="group",
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        height=360,
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        font={"family": FONT},
        xaxis={"automargin": True},
        yaxis={"title": "%", "range": [0, 100]},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def as_json(fig: go.Figure) -> str:
    """The figure's JSON, safe inside ``<script type="application/json">`` (no ``</``)."""
    return str(fig.to_json()).replace("</", "<\\/")
