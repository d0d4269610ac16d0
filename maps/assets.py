"""Vendored browser assets (Leaflet, Swagger UI, ReDoc) served by the app: no page needs internet.

Folium builds the pages, but its defaults load Leaflet, jQuery and Bootstrap from public CDNs.
:func:`localise` points a map at the copies in ``maps/static/vendor`` instead (served under
:data:`STATIC_URL`), and :func:`embed_leaflet` embeds them for a standalone HTML file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import folium

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
TEMPLATE_DIR: Final = Path(__file__).resolve().parent / "templates"
#: URL prefix the web router mounts :data:`STATIC_DIR` on.
STATIC_URL: Final = "/static/mapa"
LEAFLET_JS: Final = "vendor/leaflet/leaflet.js"
LEAFLET_CSS: Final = "vendor/leaflet/leaflet.css"
#: The API's documentation pages (``/docs``, ``/redoc``): versions in ``vendor/README.md``.
SWAGGER_UI_JS: Final = "vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_UI_CSS: Final = "vendor/swagger-ui/swagger-ui.css"
REDOC_JS: Final = "vendor/redoc/redoc.standalone.js"
#: The service's own icon (tier colours as bars), so a page never asks another host for one.
FAVICON: Final = "favicon.svg"


def localise(folium_map: folium.Map, prefix: str = STATIC_URL) -> folium.Map:
    """Make ``folium_map`` load only the vendored Leaflet (no jQuery, Bootstrap or CDN).

    Parameters
    ----------
    folium_map
        A map whose own elements need nothing but Leaflet (no awesome markers, no plugins).
    prefix
        URL the static folder is served under.

    Returns
    -------
    folium.Map
        The same map, changed in place.
    """
    folium_map.default_js = [("leaflet", f"{prefix}/{LEAFLET_JS}")]
    folium_map.default_css = [("leaflet_css", f"{prefix}/{LEAFLET_CSS}")]
    return folium_map


def embed_leaflet(folium_map: folium.Map) -> folium.Map:
    """Make ``folium_map`` carry Leaflet inside its own page (for a file opened from disk)."""
    folium_map.default_js = []
    folium_map.default_css = []
    root: Any = folium_map.get_root()  # a branca Figure
    script = (STATIC_DIR / LEAFLET_JS).read_text("utf-8")
    script = re.sub(r"//# sourceMappingURL=\S+", "", script).replace("</script", "<\\/script")
    style = (STATIC_DIR / LEAFLET_CSS).read_text("utf-8")
    root.header.add_child(folium.Element(f"<style>{style}</style>"), name="leaflet_css", index=0)
    root.header.add_child(folium.Element(f"<script>{script}</script>"), name="leaflet", index=0)
    return folium_map
