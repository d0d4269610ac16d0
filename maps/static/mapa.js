/* Mapa para planificadores (geogaps): choropleth of gap tiers drawn from the JSON API.
 *
 * Every score comes from the API (/scores for the stored run, /gaps when weights change,
 * /communes/{cut} for a commune's profile); this script only draws them.
 * This file holds the view state, the commune layer, scores, legend, table, controls and
 * start-up. The page loads three scripts before it, each defining one factory on window.geogaps
 * that receives explicitly what it needs: mapa_comun.js (helpers: number formatting, DOM),
 * mapa_panel.js (panel: the commune panel) and mapa_capas.js (overlays: the layer control).
 * Names from loaded data reach the page only through textContent, never innerHTML.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("geogaps-config").textContent);
  var geogaps = window.geogaps;
  // Words shared with the server (domain/labels.py): missing value, no place, "{rank} de {total}".
  var labels = config.labels;
  var helpers = geogaps.helpers(config);
  var el = helpers.el, clear = helpers.clear, byId = helpers.byId, checked = helpers.checked;
  var setStatus = helpers.setStatus, formatNumber = helpers.formatNumber;
  var formatInteger = helpers.formatInteger, formatShare = helpers.formatShare;
  var formatRank = helpers.formatRank;
  var challengeLabel = helpers.challengeLabel, regionName = helpers.regionName;

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
  // Leaflet silently drops a view change asked for during a zoom animation
  // (Map._tryAnimatedZoom), and answers from warm caches can arrive within the page's first
  // one: a region view then stayed national. A change asked for while zooming waits for the end.
  var zooming = false;
  map.on("zoomstart", function () { zooming = true; });
  map.on("zoomend", function () { zooming = false; });
  function fitView(bounds, options, done) {
    if (zooming) {
      map.once("zoomend", function () { fitView(bounds, options, done); });
      return;
    }
    if (done) map.once("moveend", done);
    map.fitBounds(bounds, options);
  }
  if (config.basemap) {
    L.tileLayer(config.basemap.url, { attribution: config.basemap.attribution, maxZoom: 18 })
      .addTo(map);
  }
  map.attributionControl.setPrefix(false);
  // Kilometres only: Chile measures in metres.
  L.control.scale({ imperial: false }).addTo(map);
  map.attributionControl.addAttribution("Límites: " + config.boundaries_source);

  function tierColour(row) {
    var tier = row ? viewTier(row) : null;
    if (tier === null || tier === undefined) return config.no_score_colour;
    return config.tier_colours[Math.min(tier, config.tier_colours.length) - 1];
  }
  // Scores re-computed with weights inside a region compare the region's communes only.
  function liveRegional() { return Boolean(state.region && weightsParameter()); }
  // Tier, place, interval, share and certainty of the view: written by the server for every
  // surface (analysis/view.py), never decided here.
  function viewOf(row) { return (row && row.view) || {}; }
  function viewTier(row) { return viewOf(row).tier; }
  function viewRank(row) { return viewOf(row).place; }
  function communeStyle(feature) {
    var row = state.byCut[feature.properties.cut];
    var inView = !state.region || feature.properties.region_code === state.region;
    var unstable = viewOf(row).certainty === "incierto";
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
    if (row) {
      var view = viewOf(row);
      box.appendChild(el("br"));
      box.appendChild(document.createTextNode(view.tier_label + " · lugar " + view.place_label));
    }
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
      layerControl.addOverlay(regionLayer, "Límites regionales (línea negra)");
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

  /* ---------------------------------------------------- commune panel and overlays */
  // Drawn by mapa_panel.js and mapa_capas.js from what is passed here. The layer control is
  // added now: after the zoom control, before the region outlines join it.
  var panel = geogaps.panel({
    config: config, state: state, map: map, helpers: helpers,
    layersByCut: layersByCut, namesByCut: namesByCut, restyle: restyle, liveRegional: liveRegional,
    fitView: fitView,
  });
  var selectCommune = panel.select;
  var overlayLayers = geogaps.overlays({
    config: config, state: state, map: map, helpers: helpers, renderer: communeRenderer,
    layersByCut: layersByCut, namesByCut: namesByCut, selectCommune: selectCommune,
  });
  var layerControl = overlayLayers.control;
  var refreshOverlays = overlayLayers.refresh;

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
          throw new Error(errorSentence(body) || response.statusText);
        }, function () { throw new Error(response.statusText); });
      }
      return response.json();
    }).then(function (body) {
      if (request !== state.request) return; // a newer request superseded this one
      if (body.run) state.run = Object.assign({}, config.run, body.run);
      state.notes = body.notes || {};
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
      if (state.selected) panel.renderScores(state.selected);
      setStatus("Actualizado en " + formatInteger(performance.now() - started) + " ms");
      document.body.setAttribute("data-scores-ready", String(state.request));
    }).catch(function (error) {
      if (request !== state.request) return;
      setStatus("No se pudieron leer los puntajes: " + error.message);
      document.body.setAttribute("data-scores-error", String(state.request));
    });
  }
  // The API's error body as the sentence it carries ({"detail": "…"} or FastAPI's 422 list).
  function errorSentence(body) {
    var detail = body && body.detail;
    if (Array.isArray(detail)) return detail.map(function (item) { return item.msg; }).join("; ");
    return detail ? String(detail) : "";
  }

  /* ------------------------------------------------------------------------ legend */
  function renderLegend() {
    var box = clear(byId("geogaps-legend"));
    box.appendChild(el("h2", {}, challengeLabel(state.challenge)));
    var scope = state.region ? "Región " + regionName(state.region) : "Nacional";
    // /gaps with a region scores within the region: its ranks and tiers are regional.
    var tiersScope = state.region ? "tramos y lugares dentro de la región" : "tramos y lugares nacionales";
    box.appendChild(el("p", {}, "Ámbito: " + scope + " (" + tiersScope + ")"));
    // Indicators the comparability rule leaves out of this scope, as the API says it.
    Object.keys(state.notes || {}).forEach(function (challenge) {
      if (challenge !== state.challenge && state.challenge !== config.composite_id) return;
      box.appendChild(el("p", { "class": "geogaps-small geogaps-scope-note" }, state.notes[challenge]));
    });
    var rescaledNote = viewOf(state.rows[0]).note;
    if (rescaledNote) box.appendChild(el("p", { "class": "geogaps-small" }, rescaledNote + "."));
    var tiers = {};
    state.rows.forEach(function (row) {
      var view = viewOf(row);
      if (view.tier !== null && view.tier !== undefined) tiers[view.tier] = view.tier_label;
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
      var view = viewOf(row);
      var placeCell = el("td", { "class": "num" }, formatRank(view.place));
      if (view.tie) placeCell.appendChild(el("span", { "class": "geogaps-small" }, " (empate)"));
      tr.appendChild(placeCell);
      tr.appendChild(el("td", {}, row.name || namesByCut[row.cut]));
      tr.appendChild(el("td", { "class": "num" }, formatNumber(row.score, 3)));
      var tierCell = el("td");
      var swatch = el("span", { "class": "geogaps-swatch" });
      swatch.style.background = tierColour(row);
      tierCell.appendChild(swatch);
      tierCell.appendChild(document.createTextNode(view.tier_label));
      tr.appendChild(tierCell);
      tr.appendChild(el("td", { "class": "geogaps-certainty" }, view.certainty
        ? view.interval_label + " · " + view.certainty_label : view.certainty_label));
      tr.appendChild(el("td", { "class": "num" }, state.region && !liveRegional() ? view.national_place_label : ""));
      tr.addEventListener("mouseenter", function () { highlight(row.cut, true); });
      tr.addEventListener("mouseleave", function () { highlight(row.cut, false); });
      tr.addEventListener("click", function () { selectCommune(row.cut, true); });
      tr.addEventListener("keydown", function (event) {
        if (event.key === "Enter") selectCommune(row.cut, true);
      });
      body.appendChild(tr);
    });
    byId("geogaps-national-rank-head").textContent = state.region && !liveRegional() ? "Lugar nacional" : "";
    var notes = [];
    var first = viewOf(state.rows[0]);
    if (first.note) notes.push(first.note + ".");
    if (first.rescaled) notes.push(first.national_place_label.replace(/^s/, "S") + ".");
    if (state.rows.some(function (row) { return viewOf(row).tie; })) notes.push("«empate»: comunas con el mismo puntaje comparten el lugar.");
    if (first.scope && !first.certainty && first.certainty_label === "sin simulaciones") {
      notes.push("Certeza: sin simulaciones con pesos modificados.");
    } else {
      notes.push("Certeza: intervalo del lugar en el 90 % de las simulaciones; «incierto» si la pertenencia al tramo 1 cambia en más del " +
        formatShare(1 - config.unstable_threshold) + " de ellas.");
    }
    byId("geogaps-table-note").textContent = notes.join(" ");
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
      // The open panel lists the indicators of the challenge: drawn again, where it stands.
      if (state.selected) selectCommune(state.selected, false, { scroll: false });
    });
    var regionSelect = byId("geogaps-region");
    config.regions.forEach(function (region) {
      regionSelect.appendChild(el("option", { value: region.code }, region.code + " · " + region.name));
    });
    regionSelect.value = state.region;
    regionSelect.addEventListener("change", function () {
      state.region = regionSelect.value;
      // A commune outside the new region would keep a panel of the old view.
      var selected = state.selected && layersByCut[state.selected];
      if (selected && state.region && selected.feature.properties.region_code !== state.region) panel.close();
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
    function shown() { document.body.setAttribute("data-view", wanted); }
    if (!state.region || !communeLayer) { fitView(config.national_bounds, {}, shown); return; }
    var bounds = null;
    communeLayer.eachLayer(function (layer) {
      if (layer.feature.properties.region_code !== state.region) return;
      // Oceanic islands (Isla de Pascua, Juan Fernández) would zoom the view out to the Pacific.
      if (layer.feature.properties.label_point[0] < config.continent_west) return;
      var layerBounds = layer.getBounds();
      bounds = bounds ? bounds.extend(layerBounds) : L.latLngBounds(layerBounds.getSouthWest(), layerBounds.getNorthEast());
    });
    if (bounds) fitView(bounds, {}, shown);
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
    if (weights) png.set("weights", weights);
    byId("geogaps-png").href = config.urls.png + "?" + png.toString();
    // A file to keep, named like the CSV, instead of an image that replaces the map.
    byId("geogaps-png").setAttribute("download",
      "mapa_" + state.challenge + "_" + (state.region || "nacional") + ".png");
    var page = new URLSearchParams();
    page.set("desafio", state.challenge);
    if (state.region) page.set("region", state.region);
    if (weights) page.set("pesos", weights);
    window.history.replaceState(null, "", window.location.pathname + "?" + page.toString());
  }

  fillControls();
  fitView(config.national_bounds);
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