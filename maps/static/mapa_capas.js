/* Mapa para planificadores (geogaps): the overlays of the map's layer control.
 *
 * Each overlay of config.overlays is read from its JSON endpoint when switched on (and again
 * when the challenge or region changes): points and areas, Moran clusters and peer groups,
 * the lagging-zones emulation and proposed primary-care sites, with their legend notes in
 * #geogaps-overlay-notes. Names from loaded data reach the page only through textContent.
 */
"use strict";

window.geogaps = window.geogaps || {};

/**
 * Add the layer control and the configured overlays to `context.map`.
 *
 * context: config, state (read when loading), map, helpers (window.geogaps.helpers), renderer
 * (the canvas shared by every vector layer), layersByCut and namesByCut (filled as communes
 * arrive) and selectCommune(cut, zoom).
 * Returns { control (the L.control.layers), refresh() (reload the overlays on the map) }.
 */
window.geogaps.overlays = function (context) {
  var config = context.config, state = context.state, map = context.map, helpers = context.helpers;
  var communeRenderer = context.renderer;
  var layersByCut = context.layersByCut, namesByCut = context.namesByCut;
  var selectCommune = context.selectCommune;
  var el = helpers.el, byId = helpers.byId, checked = helpers.checked, setStatus = helpers.setStatus;
  var formatNumber = helpers.formatNumber, formatInteger = helpers.formatInteger;
  var formatShare = helpers.formatShare;

  var overlays = {};
  var overlayLoaders = {};
  var layerControl = L.control.layers(null, {}, { collapsed: true }).addTo(map);
  // Leaflet's built-in titles are English.
  [[".leaflet-control-layers-toggle", "Capas"], [".leaflet-control-zoom-in", "Acercar"],
    [".leaflet-control-zoom-out", "Alejar"]].forEach(function (pair) {
    var control = map.getContainer().querySelector(pair[0]);
    if (control) { control.title = pair[1]; control.setAttribute("aria-label", pair[1]); }
  });
  config.overlays.forEach(function (overlay) {
    var group = L.layerGroup();
    overlays[overlay.label] = group;
    overlayLoaders[L.stamp(group)] = overlay;
    layerControl.addOverlay(group, overlay.label);
  });
  // On a small screen the open list would hide the map: it closes once a layer is chosen
  // (and, as everywhere, when the map is tapped).
  var smallScreen = window.matchMedia("(max-width: 760px)");
  map.on("overlayadd overlayremove", function () { if (smallScreen.matches) layerControl.collapse(); });
  map.on("overlayadd", function (event) { loadOverlay(event.layer); });
  map.on("overlayremove", function (event) {
    var overlay = overlayLoaders[L.stamp(event.layer)];
    if (overlay) overlayNote(overlay, null);
  });

  // Legend notes of the decision overlays, below the main legend (which scores redraw).
  // With ``append``, the nodes go under the layer's note already shown instead of replacing it.
  function overlayNote(overlay, nodes, append) {
    var box = byId("geogaps-overlay-notes");
    if (!box) return;
    var old = box.querySelector('[data-note="' + overlay.id + '"]');
    if (old && append && nodes) {
      nodes.forEach(function (node) { old.appendChild(node); });
      return;
    }
    if (old) box.removeChild(old);
    if (nodes) {
      var note = el("div", { "data-note": overlay.id });
      note.appendChild(el("h3", {}, overlay.label));
      nodes.forEach(function (node) { note.appendChild(node); });
      box.appendChild(note);
    }
    box.hidden = !box.children.length;
  }

  function loadOverlay(group) {
    var overlay = overlayLoaders[L.stamp(group)];
    if (!overlay || group.loaded) return;
    group.loaded = true;
    // An answer for an older view (the region changed meanwhile) is dropped.
    var token = (group.token || 0) + 1;
    group.token = token;
    var scope = state.region || "nacional";
    var query = new URLSearchParams();
    if (state.region) query.set("region", state.region);
    if (overlay.kind === "clusters" || overlay.kind === "groups") {
      query.set("challenge", state.challenge);
      query.set("limit", "1000");
    }
    if (overlay.kind === "sitios") {
      // Sites are chosen within one region: the national view has nothing to draw.
      if (!state.region) {
        group.clearLayers();
        group.loaded = false;
        var note = "Los sitios propuestos se calculan por región: elija una región para verlos.";
        overlayNote(overlay, [el("p", { "class": "geogaps-small" }, note)]);
        setStatus(overlay.label + ": " + note);
        document.body.setAttribute("data-overlay-" + overlay.id, "nacional:sin-region");
        return;
      }
      Object.keys(config.siting_query || {}).forEach(function (key) { query.set(key, config.siting_query[key]); });
      setStatus(overlay.label + ": calculando los sitios de la región (puede tardar unos segundos)…");
    } else {
      setStatus(overlay.label + ": cargando…");
    }
    fetch(overlay.url + "?" + query.toString()).then(checked).then(function (data) {
      if (group.token !== token) return;
      group.clearLayers();
      var count = overlay.kind === "points" ? drawOverlay(group, overlay, data)
        : overlay.kind === "rezago" ? drawLaggingOverlay(group, overlay, data)
        : overlay.kind === "sitios" ? drawSitesOverlay(group, overlay, data)
        : drawCommuneOverlay(group, overlay, data);
      setStatus(overlay.label + ": " + formatInteger(count) + " elementos");
      // What the layer covers: "0 elementos" in a region the layer does not cover is no data.
      var coverage = data.coverage && (data.coverage.note ? data.coverage : data.coverage.apr);
      if (coverage && coverage.note) {
        var words = data.coverage.note ? coverage.note : coverage.note + " (los minutos al APR sólo se muestran donde la capa cubre la comuna)";
        // Added under the layer's legend (drawn above), never instead of it.
        overlayNote(overlay, [el("p", { "class": "geogaps-small", "data-coverage": overlay.id }, words + ".")], true);
        setStatus(overlay.label + ": " + formatInteger(count) + " elementos · " + coverage.note);
      }
      // "<region or nacional>:<count>" of the last drawn answer, for tests and scripts.
      document.body.setAttribute("data-overlay-" + overlay.id, scope + ":" + count);
    }).catch(function (error) {
      if (group.token !== token) return;
      group.loaded = false;
      setStatus(overlay.label + " no disponible (" + error.message + ")");
    });
  }
  // Challenge- and region-specific overlays are read again when the view changes.
  function refreshOverlays() {
    Object.keys(overlays).forEach(function (label) {
      var group = overlays[label];
      var overlay = overlayLoaders[L.stamp(group)];
      if (!overlay) return;
      group.loaded = false;
      if (map.hasLayer(group)) loadOverlay(group);
    });
  }

  // Significant quadrants only (not "No significativo" nor "Sin vecinos"), one colour each.
  var QUADRANT_COLOURS = {};
  (config.cluster_legend || []).forEach(function (entry) { QUADRANT_COLOURS[entry.label] = entry.colour; });
  var GROUP_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
  function drawCommuneOverlay(group, overlay, data) {
    var rows = data.clusters || data.groups || [];
    var colours = {};
    var palette = GROUP_COLOURS;
    var counts = {};
    var drawn = 0;
    rows.forEach(function (row) {
      var key = overlay.kind === "clusters" ? row.quadrant : row.group_id;
      if (!key || (overlay.kind === "clusters" && !(key in QUADRANT_COLOURS))) return;
      counts[key] = (counts[key] || 0) + 1;
      if (!(key in colours)) {
        colours[key] = overlay.kind === "clusters" ? QUADRANT_COLOURS[key]
          : palette[Object.keys(colours).length % palette.length];
      }
      var base = layersByCut[row.cut];
      if (!base) return;
      var shape = L.geoJSON(base.feature, {
        renderer: communeRenderer, interactive: true,
        style: { color: colours[key], weight: 2.5, fill: true, fillColor: colours[key], fillOpacity: 0.15, dashArray: "5 3" },
      });
      var box = el("div");
      box.appendChild(el("strong", {}, namesByCut[row.cut]));
      box.appendChild(el("br"));
      box.appendChild(document.createTextNode(overlay.kind === "clusters"
        ? "Moran local: " + key + " (p = " + formatNumber(row.p_value, 3) + ")"
        : "Grupo " + key + " · " + formatInteger(row.group_size) + " comunas"));
      shape.bindTooltip(box);
      shape.on("click", function () { selectCommune(row.cut, false); });
      shape.addTo(group);
      drawn += 1;
    });
    var keys = Object.keys(colours);
    var nodes = [];
    if (overlay.kind === "clusters") {
      nodes.push(swatchList((config.cluster_legend || []).map(function (entry) {
        return { label: entry.label + " (" + entry.meaning + "): " + formatInteger(counts[entry.label] || 0) + " comunas",
          colour: entry.colour, dashed: true };
      }), true));
      nodes.push(el("p", { "class": "geogaps-small" },
        "Moran local del puntaje del desafío elegido; se marcan solo las comunas con agrupamiento significativo."));
    } else if (keys.length) {
      nodes.push(el("p", { "class": "geogaps-small" }, formatInteger(keys.length) +
        " grupos intercomunales propuestos: un color por grupo (los colores se repiten desde el " +
        formatInteger(palette.length + 1) + "º grupo); el detalle de cada grupo, al pasar sobre la comuna."));
    } else {
      nodes.push(el("p", { "class": "geogaps-small" }, "Ningún grupo intercomunal propuesto en esta vista."));
    }
    overlayNote(overlay, nodes);
    return drawn;
  }

  var LAGGING_STYLES = {
    "susceptible": { color: "#7b3294", weight: 3, fill: true, fillColor: "#7b3294", fillOpacity: 0.3, dashArray: null },
    "casi susceptible": { color: "#7b3294", weight: 2, fill: true, fillColor: "#c2a5cf", fillOpacity: 0.15, dashArray: "5 4" },
  };
  var EMULATION_NOTE = "Emulación con datos abiertos de los criterios de Zonas Rezagadas; no es la nómina oficial de SUBDERE.";
  // Susceptible and near-miss communes of the view (joined on CUT with the outlines on the page).
  function drawLaggingOverlay(group, overlay, data) {
    var drawn = 0;
    (data.communes || []).forEach(function (row) {
      var style = LAGGING_STYLES[row.status];
      var base = layersByCut[row.cut];
      if (!style || !base) return;
      var shape = L.geoJSON(base.feature, { renderer: communeRenderer, interactive: true, style: style });
      var box = el("div");
      box.appendChild(el("strong", {}, namesByCut[row.cut]));
      box.appendChild(el("br"));
      box.appendChild(document.createTextNode("Zonas rezagadas: " + row.status +
        " (" + formatInteger(row.criteria_met) + " de " + formatInteger(row.criteria_total) + " criterios)"));
      if (row.probabilidad_susceptible !== null && row.probabilidad_susceptible !== undefined) {
        // Issue 18: poverty intervals and speed draws combined (sin dato when absent).
        box.appendChild(el("br"));
        box.appendChild(document.createTextNode(
          "Probabilidad de ser susceptible: " + formatShare(row.probabilidad_susceptible)));
      }
      if (row.territory) {
        box.appendChild(el("br"));
        box.appendChild(document.createTextNode("Territorio " + row.territory));
      }
      box.appendChild(el("br"));
      box.appendChild(el("em", {}, "Emulación con datos abiertos, no la lista oficial de SUBDERE."));
      shape.bindTooltip(box, { sticky: true });
      shape.on("click", function () { selectCommune(row.cut, false); });
      shape.addTo(group);
      drawn += 1;
    });
    var counts = data.counts || {};
    var list = el("ul", { "class": "geogaps-swatches" });
    Object.keys(LAGGING_STYLES).forEach(function (status) {
      var item = el("li");
      var swatch = el("span", { "class": "geogaps-swatch" });
      swatch.style.background = LAGGING_STYLES[status].fillColor;
      swatch.style.border = "2px " + (LAGGING_STYLES[status].dashArray ? "dashed " : "solid ") + LAGGING_STYLES[status].color;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(status + ": " + formatInteger(counts[status] || 0) + " comunas"));
      list.appendChild(item);
    });
    overlayNote(overlay, [list, el("p", { "class": "geogaps-small" }, data.disclaimer || EMULATION_NOTE)]);
    return drawn;
  }

  // New primary-care sites proposed for the region (numbered by the population they add).
  function drawSitesOverlay(group, overlay, data) {
    var features = (data.sites && data.sites.features) || [];
    L.geoJSON(data.sites || { type: "FeatureCollection", features: [] }, {
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          renderer: communeRenderer, radius: 8, color: "#ffffff", weight: 2,
          fillColor: "#d95f02", fillOpacity: 0.95,
        });
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        var box = el("div");
        box.appendChild(el("strong", {}, "Sitio " + formatInteger(p.order) + ": " + (p.name || "")));
        box.appendChild(el("br"));
        box.appendChild(document.createTextNode((p.kind || "") + " · " + (p.commune || p.cut || "")));
        box.appendChild(el("br"));
        box.appendChild(document.createTextNode("Población rural que pasa a quedar a menos de 60 min: " + formatInteger(p.newly_covered)));
        layer.bindTooltip(box);
      },
    }).addTo(group);
    var summary = data.summary || {};
    overlayNote(overlay, [el("p", { "class": "geogaps-small" },
      formatInteger(features.length) + " nuevos sitios de atención primaria (escuelas rurales o sistemas APR como candidatos). " +
      "Población rural a menos de 60 min: " + formatShare(summary.share_before) + " hoy, " +
      formatShare(summary.share_after) + " con los sitios propuestos. Propuesta de un modelo de localización, no una decisión.")]);
    return features.length;
  }

  // A legend list: a swatch (round for points, square for areas; dashed border for
  // approximate places and outlined communes) and a label each.
  function swatchList(items, areas) {
    var list = el("ul", { "class": "geogaps-swatches" });
    items.forEach(function (entry) {
      var item = el("li");
      var swatch = el("span", { "class": areas ? "geogaps-swatch" : "geogaps-swatch geogaps-swatch-round" });
      swatch.style.background = entry.colour;
      if (entry.dashed) swatch.style.borderStyle = "dashed";
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(entry.label));
      list.appendChild(item);
    });
    return list;
  }

  // Points and areas of the server's layers, with the legend the server sends for each.
  function drawOverlay(group, overlay, data) {
    var renderer = communeRenderer;
    var legend = overlay.legend || { items: [], note: null };
    var nodes = [swatchList(legend.items)];
    if (legend.note) nodes.push(el("p", { "class": "geogaps-small" }, legend.note));
    if (!(data.features || []).length) {
      // Nothing loaded here is not "nothing there": the data may not cover this view.
      nodes.push(el("p", { "class": "geogaps-small", "data-empty": "1" },
        "Sin elementos cargados en esta vista: los datos cargados no la cubren, lo que no significa que no existan."));
    }
    overlayNote(overlay, nodes);
    L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        return L.circleMarker(latlng, {
          renderer: renderer,
          radius: p.radius || 4,
          color: p.approximate ? "#333333" : (p.colour || "#08519c"),
          dashArray: p.approximate ? "2 2" : null,
          weight: 1,
          fillColor: p.colour || "#08519c",
          fillOpacity: p.approximate ? 0.25 : 0.8,
        });
      },
      style: function (feature) {
        return { color: feature.properties.colour || "#444", weight: 2, fillOpacity: 0.15, dashArray: "4 2" };
      },
      onEachFeature: function (feature, layer) {
        var box = el("div");
        box.appendChild(el("strong", {}, feature.properties.title));
        (feature.properties.lines || []).forEach(function (line) {
          box.appendChild(el("br"));
          box.appendChild(document.createTextNode(line));
        });
        layer.bindTooltip(box);
      },
    }).addTo(group);
    return (data.features || []).length;
  }

  return { control: layerControl, refresh: refreshOverlays };
};
