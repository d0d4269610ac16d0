/* Mapa para planificadores (geogaps): choropleth of gap tiers drawn from the JSON API.
 *
 * Every score comes from the API (/scores for the stored run, /gaps when weights change,
 * /communes/{cut} for a commune's profile); this script only draws them.
 * Numbers are written with Intl.NumberFormat('es-CL') (decimal comma, thousands point, "45,1 %"),
 * the same style as analysis/formatting.py on the server.
 * Names from loaded data reach the page only through textContent, never innerHTML.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("geogaps-config").textContent);
  // Words shared with the server (domain/labels.py): missing value, no place, "{rank} de {total}".
  var labels = config.labels;
  function fillTemplate(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }
  var numberFormats = {};
  function formatNumber(value, decimals) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return labels.missing;
    var key = String(decimals);
    if (!numberFormats[key]) {
      numberFormats[key] = new Intl.NumberFormat("es-CL", {
        minimumFractionDigits: decimals, maximumFractionDigits: decimals,
      });
    }
    return numberFormats[key].format(Number(value));
  }
  function formatInteger(value) { return formatNumber(value, 0); }
  function formatShare(share) {
    if (share === null || share === undefined) return labels.missing;
    return formatNumber(100 * share, 0) + " %";
  }
  function formatRank(rank) {
    if (rank === null || rank === undefined) return labels.missing;
    return formatNumber(rank, Number.isInteger(Number(rank)) ? 0 : 1);
  }
  function rankOf(rank, total) {
    if (rank === null || rank === undefined || !total) return labels.no_rank;
    return fillTemplate(labels.rank_of, { rank: formatRank(rank), total: formatInteger(total) });
  }
  function formatValue(value, unit) {
    if (value === null || value === undefined) return labels.missing;
    var decimals = config.unit_decimals[unit];
    return formatNumber(value, decimals === undefined ? 2 : decimals) + " " + unit;
  }

  /* ----------------------------------------------------------------- small DOM helpers */
  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function byId(id) { return document.getElementById(id); }

  /* ----------------------------------------------------------------------------- state */
  var params = new URLSearchParams(window.location.search);
  var state = {
    challenge: params.get("desafio") || config.initial.challenge,
    region: params.get("region") || config.initial.region || "",
    weights: parseWeights(params.get("pesos") || ""),
    rows: [],          // score rows of the current view, API order
    byCut: {},         // cut -> score row
    run: config.run,
    selected: null,
    request: 0,
  };
  if (!config.challenges.some(function (c) { return c.id === state.challenge; })) {
    state.challenge = config.composite_id;
  }

  function parseWeights(text) {
    var weights = {};
    text.split(",").forEach(function (pair) {
      var parts = pair.split(":");
      var value = Number(parts[1]);
      if (parts.length === 2 && config.weight_ids.indexOf(parts[0]) >= 0 && value >= 0) {
        weights[parts[0]] = value;
      }
    });
    return weights;
  }
  function weightsParameter() {
    return Object.keys(state.weights).sort().map(function (id) {
      return id + ":" + state.weights[id];
    }).join(",");
  }
  function challengeLabel(id) {
    var found = config.challenges.filter(function (c) { return c.id === id; })[0];
    return found ? found.label : id;
  }
  function regionName(code) {
    var found = config.regions.filter(function (r) { return r.code === code; })[0];
    return found ? found.name : code;
  }

  /* ----------------------------------------------------------------------------- map */
  var map = window.geogapsMap;
  // One canvas for every vector layer: a second canvas on top would swallow the clicks.
  var communeRenderer = L.canvas({ padding: 0.3 });
  var communeLayer = null;
  var regionLayer = null;
  var labelLayer = L.layerGroup().addTo(map);
  var layersByCut = {};
  var labelPoints = {};
  var namesByCut = {};
  if (config.basemap) {
    L.tileLayer(config.basemap.url, { attribution: config.basemap.attribution, maxZoom: 18 })
      .addTo(map);
  }
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Límites: " + config.boundaries_source);

  function tierColour(row) {
    var tier = row ? viewTier(row) : null;
    if (tier === null || tier === undefined) return config.no_score_colour;
    return config.tier_colours[Math.min(tier, config.tier_colours.length) - 1];
  }
  // Scores re-computed with weights inside a region compare the region's communes only.
  function liveRegional() { return Boolean(state.region && weightsParameter()); }
  function viewTier(row) {
    return state.region && row.tier_region !== undefined && row.tier_region !== null
      ? row.tier_region : row.tier;
  }
  function viewRank(row) {
    return state.region && row.rank_region !== undefined ? row.rank_region : row.rank;
  }
  // Priority is unstable when membership of tier 1 is uncertain across the simulations:
  // a tier-1 commune there in fewer than 80 % of draws, or another one there in more than 20 %.
  function isUnstable(row) {
    if (!row || row.tier === null || row.tier === undefined) return false;
    var share = row.top_tier_share;
    if (share === null || share === undefined) return false;
    return row.tier === 1 ? share < config.unstable_threshold : 1 - share < config.unstable_threshold;
  }
  function communeStyle(feature) {
    var row = state.byCut[feature.properties.cut];
    var inView = !state.region || feature.properties.region_code === state.region;
    var unstable = isUnstable(row);
    return {
      renderer: communeRenderer,
      fillColor: tierColour(row),
      fillOpacity: !inView ? 0.08 : unstable ? 0.35 : 0.8,
      color: unstable && inView ? "#333333" : "#666666",
      weight: feature.properties.cut === state.selected ? 3 : 0.5,
      dashArray: unstable && inView ? "3 3" : null,
    };
  }
  function restyle() {
    if (!communeLayer) return;
    communeLayer.setStyle(communeStyle);
    if (state.selected && layersByCut[state.selected]) layersByCut[state.selected].bringToFront();
  }

  function tooltipFor(cut) {
    var row = state.byCut[cut];
    var box = el("div");
    box.appendChild(el("strong", {}, namesByCut[cut]));
    box.appendChild(el("br"));
    box.appendChild(document.createTextNode(
      "Puntaje: " + (row && row.score !== null ? formatNumber(row.score, 3) : labels.missing)));
    return box;
  }

  // Communes are drawn as soon as they arrive; region outlines follow without blocking them.
  function loadOutlines() {
    var regions = fetch(config.urls.regions).then(checked).then(function (collection) {
      regionLayer = L.geoJSON(collection, {
        interactive: false,
        renderer: communeRenderer,
        style: { color: "#222222", weight: 1.6, fill: false, opacity: 0.9 },
      }).addTo(map);
      layerControl.addOverlay(regionLayer, "Límites regionales");
    });
    var communes = fetch(config.urls.communes).then(checked).then(function (collection) {
      communeLayer = L.geoJSON(collection, {
        renderer: communeRenderer,
        style: communeStyle,
        onEachFeature: function (feature, layer) {
          var cut = feature.properties.cut;
          layersByCut[cut] = layer;
          labelPoints[cut] = feature.properties.label_point;
          namesByCut[cut] = feature.properties.name;
          layer.bindTooltip(function () { return tooltipFor(cut); }, { sticky: true });
          layer.on("mouseover", function () { highlight(cut, true); });
          layer.on("mouseout", function () { highlight(cut, false); });
          layer.on("click", function () { selectCommune(cut, false); });
        },
      }).addTo(map);
      if (regionLayer) regionLayer.bringToFront();
      document.body.setAttribute("data-communes", String(Object.keys(layersByCut).length));
      fillSearch();
      renderTable();
    });
    return Promise.all([communes, regions]);
  }
  function checked(response) {
    if (!response.ok) throw new Error(response.status + " " + response.url);
    return response.json();
  }

  /* ------------------------------------------------------------------ labels at zoom */
  function updateLabels() {
    labelLayer.clearLayers();
    if (map.getZoom() < config.label_zoom) return;
    var bounds = map.getBounds();
    Object.keys(labelPoints).forEach(function (cut) {
      var point = labelPoints[cut];
      var latlng = L.latLng(point[1], point[0]);
      if (!bounds.contains(latlng)) return;
      var label = el("span", { "class": "geogaps-label" }, namesByCut[cut]);
      L.marker(latlng, {
        icon: L.divIcon({ html: label, className: "geogaps-label-icon", iconSize: null }),
        interactive: false, keyboard: false,
      }).addTo(labelLayer);
    });
  }
  map.on("zoomend moveend", updateLabels);

  /* ------------------------------------------------------------------------ scores */
  function scoresUrl() {
    var query = new URLSearchParams();
    query.set("challenge", state.challenge);
    if (state.region) query.set("region", state.region);
    var weights = weightsParameter();
    if (weights) {
      query.set("weights", weights);
      return config.urls.gaps + "?" + query.toString();
    }
    query.set("limit", "1000");
    if (config.run && config.run.run_id) query.set("run_id", config.run.run_id);
    return config.urls.scores + "?" + query.toString();
  }

  function loadScores() {
    var request = ++state.request;
    setStatus("Calculando…");
    var started = performance.now();
    return fetch(scoresUrl()).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) {
          throw new Error(body && body.detail ? JSON.stringify(body.detail) : response.statusText);
        }, function () { throw new Error(response.statusText); });
      }
      return response.json();
    }).then(function (body) {
      if (request !== state.request) return; // a newer request superseded this one
      if (body.run) state.run = Object.assign({}, config.run, body.run);
      state.rows = (body.scores || []).filter(function (row) { return row.challenge === state.challenge; });
      state.rows.sort(function (a, b) {
        var ra = viewRank(a), rb = viewRank(b);
        if (ra === null || ra === undefined) return 1;
        if (rb === null || rb === undefined) return -1;
        return ra - rb;
      });
      state.byCut = {};
      state.rows.forEach(function (row) { state.byCut[row.cut] = row; });
      restyle();
      renderTable();
      renderLegend();
      if (state.selected) renderPanelScores(state.selected);
      setStatus("Actualizado en " + formatInteger(performance.now() - started) + " ms");
      document.body.setAttribute("data-scores-ready", String(state.request));
    }).catch(function (error) {
      if (request !== state.request) return;
      setStatus("No se pudieron leer los puntajes: " + error.message);
    });
  }
  function setStatus(text) { byId("geogaps-status").textContent = text; }

  /* ------------------------------------------------------------------------ legend */
  function renderLegend() {
    var box = clear(byId("geogaps-legend"));
    box.appendChild(el("h2", {}, challengeLabel(state.challenge)));
    var scope = state.region ? "Región " + regionName(state.region) : "Nacional";
    // /gaps with a region scores within the region: its ranks and tiers are regional.
    var tiersScope = liveRegional() || (state.region && state.rows.some(function (r) { return r.tier_region !== undefined; }))
      ? "tramos y lugares dentro de la región"
      : state.region ? "tramos nacionales, lugares en la región" : "tramos y lugares nacionales";
    box.appendChild(el("p", {}, "Ámbito: " + scope + " (" + tiersScope + ")"));
    var tiers = {};
    state.rows.forEach(function (row) {
      var tier = viewTier(row);
      if (tier !== null && tier !== undefined) {
        tiers[tier] = state.region && row.tier_region !== undefined ? (row.tier_label_region || row.tier_label) : row.tier_label;
      }
    });
    var list = el("ul", { "class": "geogaps-swatches" });
    Object.keys(tiers).map(Number).sort(function (a, b) { return a - b; }).forEach(function (tier) {
      var item = el("li");
      var swatch = el("span", { "class": "geogaps-swatch" });
      swatch.style.background = config.tier_colours[Math.min(tier, config.tier_colours.length) - 1];
      item.appendChild(swatch);
      item.appendChild(document.createTextNode("Tramo " + tier + " · " + tiers[tier]));
      list.appendChild(item);
    });
    var none = el("li");
    var noneSwatch = el("span", { "class": "geogaps-swatch" });
    noneSwatch.style.background = config.no_score_colour;
    none.appendChild(noneSwatch);
    none.appendChild(document.createTextNode("Sin dato suficiente"));
    list.appendChild(none);
    var unstable = el("li");
    unstable.appendChild(el("span", { "class": "geogaps-swatch geogaps-unstable" }));
    unstable.appendChild(document.createTextNode(
      "Prioridad inestable (relleno claro, borde punteado): tramo 1 en menos del " +
      formatShare(config.unstable_threshold) + " de las simulaciones, u otro tramo que llega al 1 en más del " +
      formatShare(1 - config.unstable_threshold)));
    list.appendChild(unstable);
    box.appendChild(list);
    box.appendChild(el("p", { "class": "geogaps-small" }, config.classification));
    var weighted = weightsParameter();
    var run = state.run || {};
    box.appendChild(el("p", { "class": "geogaps-small" },
      weighted ? "Pesos modificados: recalculado en vivo (" + weighted + "), sin simulaciones."
        : "Corrida " + String(run.run_id || "").slice(0, 12) + (config.run_date ? " del " + config.run_date : "")));
    box.appendChild(el("p", { "class": "geogaps-small" }, "Datos: " + config.data_years));
  }

  /* ------------------------------------------------------------------------- table */
  function renderTable() {
    var body = clear(byId("geogaps-table-body"));
    var top = Number(byId("geogaps-top").value) || 15;
    state.rows.slice(0, top).forEach(function (row) {
      var tr = el("tr", { "data-cut": row.cut, tabindex: "0" });
      var rank = viewRank(row);
      tr.appendChild(el("td", { "class": "num" }, formatRank(rank)));
      tr.appendChild(el("td", {}, row.name || namesByCut[row.cut]));
      tr.appendChild(el("td", { "class": "num" }, formatNumber(row.score, 3)));
      var tierCell = el("td");
      var swatch = el("span", { "class": "geogaps-swatch" });
      swatch.style.background = tierColour(row);
      tierCell.appendChild(swatch);
      tierCell.appendChild(document.createTextNode(
        (state.region && row.tier_label_region) || row.tier_label || "Sin tramo"));
      tr.appendChild(tierCell);
      tr.appendChild(el("td", { "class": "num" }, state.region && !liveRegional() ? formatRank(row.rank) : ""));
      tr.addEventListener("mouseenter", function () { highlight(row.cut, true); });
      tr.addEventListener("mouseleave", function () { highlight(row.cut, false); });
      tr.addEventListener("click", function () { selectCommune(row.cut, true); });
      tr.addEventListener("keydown", function (event) {
        if (event.key === "Enter") selectCommune(row.cut, true);
      });
      body.appendChild(tr);
    });
    byId("geogaps-national-rank-head").textContent = state.region && !liveRegional() ? "Lugar nacional" : "";
    byId("geogaps-table-caption").textContent = "Prioridades: " + challengeLabel(state.challenge) +
      (state.region ? " · " + regionName(state.region) : " · Chile");
    updateLinks();
  }

  function highlight(cut, on) {
    var layer = layersByCut[cut];
    if (layer) {
      layer.setStyle(on ? { weight: 3, color: "#000000" } : communeStyle(layer.feature));
      if (on) layer.bringToFront();
    }
    var row = document.querySelector('#geogaps-table-body tr[data-cut="' + cut + '"]');
    if (row) row.classList.toggle("geogaps-hover", on);
  }

  /* ------------------------------------------------------------------- commune panel */
  function selectCommune(cut, zoom) {
    state.selected = cut;
    restyle();
    Array.prototype.forEach.call(document.querySelectorAll("#geogaps-table-body tr"), function (tr) {
      tr.classList.toggle("geogaps-selected", tr.getAttribute("data-cut") === cut);
    });
    if (zoom && layersByCut[cut]) map.fitBounds(layersByCut[cut].getBounds(), { maxZoom: 9 });
    var panel = byId("geogaps-panel");
    panel.hidden = false;
    clear(panel);
    var close = el("button", { type: "button", "class": "geogaps-close", "aria-label": "Cerrar" }, "×");
    close.addEventListener("click", function () { panel.hidden = true; state.selected = null; restyle(); });
    panel.appendChild(close);
    panel.appendChild(el("h2", { id: "geogaps-panel-title" }, namesByCut[cut] || cut));
    panel.appendChild(el("div", { id: "geogaps-panel-scores" }));
    panel.appendChild(el("div", { id: "geogaps-panel-profile" }, "Cargando perfil…"));
    var link = el("a", { href: config.urls.profile + encodeURIComponent(cut), id: "geogaps-profile-link" },
      "Ver perfil imprimible de la comuna");
    panel.appendChild(link);
    renderPanelScores(cut);
    fetch(config.urls.commune + encodeURIComponent(cut)).then(checked).then(function (profile) {
      // Medians of the same run, for the commune's own region (the API profile has values only).
      return fetch(config.urls.medians + encodeURIComponent(profile.region_code) + ".json")
        .then(checked).catch(function () { return {}; })
        .then(function (medians) { if (state.selected === cut) renderPanelProfile(profile, medians); });
    }).catch(function (error) {
      if (state.selected === cut) byId("geogaps-panel-profile").textContent = "Perfil no disponible (" + error.message + ")";
    });
  }

  function renderPanelScores(cut) {
    var box = byId("geogaps-panel-scores");
    if (!box) return;
    clear(box);
    var row = state.byCut[cut];
    box.appendChild(el("p", { "class": "geogaps-small" },
      challengeLabel(state.challenge) + (state.region ? " · " + regionName(state.region) : " · Chile")));
    if (!row) { box.appendChild(el("p", {}, "Sin puntaje en esta vista.")); return; }
    var facts = el("dl", { "class": "geogaps-facts" });
    function fact(term, value) { facts.appendChild(el("dt", {}, term)); facts.appendChild(el("dd", {}, value)); }
    fact("Puntaje", formatNumber(row.score, 3));
    fact("Tramo", (state.region && row.tier_label_region) || row.tier_label || "Sin tramo");
    if (state.region && row.rank_region !== undefined) {
      fact("Lugar en la región", rankOf(row.rank_region, row.region_total));
    }
    if (!liveRegional()) fact("Lugar nacional", rankOf(row.rank, row.national_total || config.national_total));
    if (state.region && row.rank_p05_region !== undefined && row.rank_p05_region !== null) {
      fact("Intervalo 5–95 % en la región", formatRank(row.rank_p05_region) + "–" + formatRank(row.rank_p95_region));
    }
    if (row.rank_p05 !== undefined && row.rank_p05 !== null) {
      fact("Intervalo 5–95 %", formatRank(row.rank_p05) + "–" + formatRank(row.rank_p95) +
        " (lugar nacional en el 90 % de las simulaciones)");
      fact("En el tramo 1", formatShare(row.top_tier_share) + " de las simulaciones" +
        (isUnstable(row) ? " (prioridad inestable)" : ""));
    } else {
      fact("Incertidumbre", "no calculada con pesos modificados");
    }
    fact("Cobertura", formatShare(row.coverage) + " de los indicadores");
    box.appendChild(facts);
    if (row.explanation) box.appendChild(el("p", { "class": "geogaps-drivers" }, row.explanation));
  }

  function renderPanelProfile(profile, medians) {
    var box = clear(byId("geogaps-panel-profile"));
    var indicators = (profile.indicators || []).filter(function (item) {
      return state.challenge === config.composite_id || item.challenge === state.challenge;
    });
    if (indicators.length) {
      var table = el("table", { "class": "geogaps-indicators" });
      var head = el("tr");
      ["Indicador", "Comuna", "Mediana regional", "Mediana nacional"].forEach(function (text) { head.appendChild(el("th", {}, text)); });
      table.appendChild(el("thead")).appendChild(head);
      var body = table.appendChild(el("tbody"));
      indicators.forEach(function (item) {
        var tr = el("tr");
        tr.appendChild(el("td", {}, item.label || item.id));
        tr.appendChild(el("td", { "class": "num" }, formatValue(item.value, item.unit)));
        var median = medians[item.id] || {};
        tr.appendChild(el("td", { "class": "num" }, formatValue(median.regional_median, item.unit)));
        tr.appendChild(el("td", { "class": "num" }, formatValue(median.national_median, item.unit)));
        body.appendChild(tr);
      });
      box.appendChild(el("h3", {}, "Indicadores"));
      box.appendChild(table);
    }
    var projects = (profile.projects && profile.projects.items) || [];
    box.appendChild(el("h3", {}, "Proyectos (" + formatInteger(projects.length) + ")"));
    if (projects.length) {
      var list = el("ul");
      projects.slice(0, 8).forEach(function (project) {
        var text = project.name + " · " + String(project.typology || "").replace(/_/g, " ") +
          (project.stage ? " · " + project.stage : "") +
          (project.location_precision === "commune" ? " (ubicación aproximada)" : "");
        list.appendChild(el("li", {}, text));
      });
      box.appendChild(list);
      if (projects.length > 8) box.appendChild(el("p", { "class": "geogaps-small" }, "y " + formatInteger(projects.length - 8) + " más en el perfil."));
    } else {
      box.appendChild(el("p", { "class": "geogaps-small" }, "Sin proyectos registrados."));
    }
  }

  /* -------------------------------------------------------------------- overlays */
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
  map.on("overlayadd", function (event) { loadOverlay(event.layer); });
  map.on("overlayremove", function (event) {
    var overlay = overlayLoaders[L.stamp(event.layer)];
    if (overlay) overlayNote(overlay, null);
  });

  // Legend notes of the decision overlays, below the main legend (which scores redraw).
  function overlayNote(overlay, nodes) {
    var box = byId("geogaps-overlay-notes");
    if (!box) return;
    var old = box.querySelector('[data-note="' + overlay.id + '"]');
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
      var count = overlay.kind === "points" ? drawOverlay(group, data)
        : overlay.kind === "rezago" ? drawLaggingOverlay(group, overlay, data)
        : overlay.kind === "sitios" ? drawSitesOverlay(group, overlay, data)
        : drawCommuneOverlay(group, overlay, data);
      setStatus(overlay.label + ": " + formatInteger(count) + " elementos");
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

  var QUADRANT_COLOURS = ["#b2182b", "#2166ac", "#ef8a62", "#67a9cf", "#999999"];
  var GROUP_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
  function drawCommuneOverlay(group, overlay, data) {
    var rows = data.clusters || data.groups || [];
    var colours = {};
    var palette = overlay.kind === "clusters" ? QUADRANT_COLOURS : GROUP_COLOURS;
    var drawn = 0;
    rows.forEach(function (row) {
      var key = overlay.kind === "clusters" ? row.quadrant : row.group_id;
      if (!key || (overlay.kind === "clusters" && /^no significativ/i.test(key))) return;
      if (!(key in colours)) colours[key] = palette[Object.keys(colours).length % palette.length];
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
      if (row.territory) {
        box.appendChild(el("br"));
        box.appendChild(document.createTextNode("Territorio " + row.territory));
      }
      box.appendChild(el("br"));
      box.appendChild(el("em", {}, "Emulación con datos abiertos, no oficial."));
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

  function drawOverlay(group, data) {
    var renderer = communeRenderer;
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

  /* ---------------------------------------------------------------------- controls */
  function fillControls() {
    var challengeSelect = byId("geogaps-challenge");
    config.challenges.forEach(function (challenge) {
      challengeSelect.appendChild(el("option", { value: challenge.id }, challenge.label));
    });
    challengeSelect.value = state.challenge;
    challengeSelect.addEventListener("change", function () {
      state.challenge = challengeSelect.value;
      renderWeights();
      loadScores();
      refreshOverlays();
    });
    var regionSelect = byId("geogaps-region");
    config.regions.forEach(function (region) {
      regionSelect.appendChild(el("option", { value: region.code }, region.code + " · " + region.name));
    });
    regionSelect.value = state.region;
    regionSelect.addEventListener("change", function () {
      state.region = regionSelect.value;
      zoomToRegion();
      loadScores();
      refreshOverlays();
    });
    byId("geogaps-top").addEventListener("change", renderTable);
    byId("geogaps-share").addEventListener("click", function () {
      var link = window.location.href;
      byId("geogaps-share-link").value = link;
      byId("geogaps-share-link").hidden = false;
      if (navigator.clipboard) navigator.clipboard.writeText(link).then(function () { setStatus("Enlace copiado"); }, function () {});
    });
    byId("geogaps-reset").addEventListener("click", function () {
      state.weights = {};
      renderWeights();
      loadScores();
    });
    renderWeights();
  }

  function renderWeights() {
    var box = clear(byId("geogaps-weights"));
    var shown = state.challenge === config.composite_id
      ? config.challenges.filter(function (c) { return c.id !== config.composite_id; })
      : config.challenges.filter(function (c) { return c.id === state.challenge; });
    shown.forEach(function (challenge) {
      var group = el("fieldset");
      group.appendChild(el("legend", {}, challenge.label));
      if (state.challenge === config.composite_id) group.appendChild(slider(challenge.id, "Peso del desafío", challenge.weight));
      challenge.indicators.forEach(function (indicator) {
        group.appendChild(slider(indicator.id, indicator.label, indicator.weight));
      });
      box.appendChild(group);
    });
  }

  var pending = null;
  function slider(id, label, defaultWeight) {
    var row = el("label", { "class": "geogaps-slider" });
    row.appendChild(el("span", {}, label));
    var current = state.weights[id] !== undefined ? state.weights[id] : defaultWeight;
    var input = el("input", {
      type: "range", min: "0", max: "3", step: "0.05", value: String(current),
      "data-weight": id, "aria-label": "Peso: " + label,
    });
    var output = el("output", {}, formatNumber(current, 2));
    input.addEventListener("input", function () {
      var value = Number(input.value);
      output.textContent = formatNumber(value, 2);
      if (Math.abs(value - defaultWeight) < 1e-9) delete state.weights[id];
      else state.weights[id] = value;
      window.clearTimeout(pending);
      pending = window.setTimeout(loadScores, 120);
      updateLinks();
    });
    row.appendChild(input);
    row.appendChild(output);
    return row;
  }

  function zoomToRegion() {
    var wanted = state.region || "nacional";
    map.once("moveend", function () { document.body.setAttribute("data-view", wanted); });
    if (!state.region || !communeLayer) { map.fitBounds(config.national_bounds); return; }
    var bounds = null;
    communeLayer.eachLayer(function (layer) {
      if (layer.feature.properties.region_code !== state.region) return;
      // Oceanic islands (Isla de Pascua, Juan Fernández) would zoom the view out to the Pacific.
      if (layer.feature.properties.label_point[0] < config.continent_west) return;
      var layerBounds = layer.getBounds();
      bounds = bounds ? bounds.extend(layerBounds) : L.latLngBounds(layerBounds.getSouthWest(), layerBounds.getNorthEast());
    });
    if (bounds) map.fitBounds(bounds);
  }

  function fillSearch() {
    var list = byId("geogaps-commune-names");
    Object.keys(namesByCut).sort(function (a, b) {
      return namesByCut[a].localeCompare(namesByCut[b], "es");
    }).forEach(function (cut) {
      list.appendChild(el("option", { value: namesByCut[cut] + " (" + cut + ")" }));
    });
    var input = byId("geogaps-search");
    function go() {
      var text = input.value.trim();
      var match = /\((\d{5})\)\s*$/.exec(text);
      var cut = match ? match[1] : null;
      if (!cut) {
        // Exact name, then a name starting with the text, then one containing it; communes of
        // the selected region first.
        var lower = text.toLocaleLowerCase("es");
        var cuts = Object.keys(namesByCut).sort(function (a, b) {
          return (b.slice(0, 2) === state.region) - (a.slice(0, 2) === state.region) || a.localeCompare(b);
        });
        var tests = [
          function (name) { return name === lower; },
          function (name) { return name.indexOf(lower) === 0; },
          function (name) { return name.indexOf(lower) >= 0; },
        ];
        for (var i = 0; i < tests.length && !cut; i++) {
          cut = cuts.filter(function (c) { return tests[i](namesByCut[c].toLocaleLowerCase("es")); })[0];
        }
      }
      if (cut && layersByCut[cut]) selectCommune(cut, true);
      else if (text) setStatus("No se encontró la comuna «" + text + "»");
    }
    input.addEventListener("change", go);
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") go(); });
  }

  function updateLinks() {
    var query = new URLSearchParams();
    query.set("challenge", state.challenge);
    if (state.region) query.set("region", state.region);
    var weights = weightsParameter();
    if (weights) query.set("weights", weights);
    byId("geogaps-csv").href = config.urls.csv + "?" + query.toString();
    var png = new URLSearchParams();
    png.set("challenge", state.challenge);
    if (state.region) png.set("region", state.region);
    byId("geogaps-png").href = config.urls.png + "?" + png.toString();
    var page = new URLSearchParams();
    page.set("desafio", state.challenge);
    if (state.region) page.set("region", state.region);
    if (weights) page.set("pesos", weights);
    window.history.replaceState(null, "", window.location.pathname + "?" + page.toString());
  }

  fillControls();
  map.fitBounds(config.national_bounds);
  Promise.all([loadOutlines(), loadScores()]).then(function () {
    if (state.region) zoomToRegion();
  }).then(function () {
    var wanted = params.get("comuna");
    if (wanted && layersByCut[wanted]) selectCommune(wanted, true);
    document.body.setAttribute("data-map-ready", "1");
    // Warm the server's live re-scoring (inputs are read once per data state), so the first
    // slider move answers within a second.
    fetch(config.urls.gaps + "?challenge=" + encodeURIComponent(state.challenge) + "&limit=1").catch(function () {});
  }).catch(function (error) { setStatus("No se pudo cargar el mapa: " + error.message); });
})();
