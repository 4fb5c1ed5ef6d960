"""A Plotly figure in the page, drawn by the plotly.js that the installed `plotly` package ships
(served from /static/assets/plotly.min.js): zoom and hover happen in the browser, and nothing is
fetched from a CDN. Solara's own FigurePlotly would need the anywidget front end, which Solara
1.58 does not serve offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import solara

PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"  # holds plotly.min.js


def serve_plotly_js() -> None:
    """Add the plotly package's data folder to Solara's asset folders (/static/assets/...)."""
    extra = solara.server.settings.assets.extra_locations
    if str(PLOTLY_JS_DIR) not in extra:
        extra.append(str(PLOTLY_JS_DIR))


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON (numpy arrays become lists or typed arrays plotly.js reads)."""
    return json.loads(fig.to_json())


@solara.component_vue("plotly_view.vue")
def PlotlyView(figure: dict[str, Any], height: str = "480px", css_class: str = "plotly-view"):
    """Draws `figure` (figure_json) `height` high (any CSS length); a new figure redraws in
    place (Plotly.react), keeping the zoom while the layout's `uirevision` stays the same."""
