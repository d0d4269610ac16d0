/* Mapa para planificadores (geogaps): the commune panel of the map (#geogaps-panel).
 *
 * A selected commune shows its scores in the current view (redrawn when scores change) and its
 * profile from /communes/{cut}, with the regional and national medians of the stored run.
 * Names from loaded data reach the page only through textContent (helpers.el), never innerHTML.
 */
"use strict";

window.geogaps = window.geogaps || {};

/**
 * The commune panel, drawn from `context`.
 *
 * context: config, state (read when drawing), map, helpers (window.geogaps.helpers),
 * layersByCut and namesByCut (filled as communes arrive), restyle() and fitView(bounds,
 * options) of mapa.js (a view change that waits for a running zoom animation).
 * Returns { select(cut, zoom, options) (opens the panel and scrolls it into view unless
 * options.scroll is false), renderScores(cut), close() }.
 */
window.geogaps.panel = function (context) {
  var config = context.config, state = context.state, map = context.map, helpers = context.helpers;
  var labels = config.labels;
  var layersByCut = context.layersByCut, namesByCut = context.namesByCut;
  var restyle = context.restyle;
  var el = helpers.el, clear = helpers.clear, byId = helpers.byId, checked = helpers.checked;
  var formatNumber = helpers.formatNumber, formatInteger = helpers.formatInteger;
  var formatValue = helpers.formatValue;
  var challengeLabel = helpers.challengeLabel, regionName = helpers.regionName;

  function selectCommune(cut, zoom, options) {
    state.selected = cut;
    restyle();
    Array.prototype.forEach.call(document.querySelectorAll("#geogaps-table-body tr"), function (tr) {
      tr.classList.toggle("geogaps-selected", tr.getAttribute("data-cut") === cut);
    });
    if (zoom && layersByCut[cut]) context.fitView(layersByCut[cut].getBounds(), { maxZoom: 9 });
    var panel = byId("geogaps-panel");
    panel.hidden = false;
    clear(panel);
    var close = el("button", { type: "button", "class": "geogaps-close", "aria-label": "Cerrar" }, "×");
    close.addEventListener("click", closePanel);
    panel.appendChild(close);
    // On a phone the map is above, out of sight once the panel is read (hidden on wide screens).
    var back = el("button", { type: "button", "class": "geogaps-to-map" }, "↑ Ver el mapa");
    back.addEventListener("click", function () { map.getContainer().scrollIntoView({ block: "start" }); });
    panel.appendChild(back);
    panel.appendChild(el("h2", { id: "geogaps-panel-title" }, namesByCut[cut] || cut));
    panel.appendChild(el("div", { id: "geogaps-panel-scores" }));
    panel.appendChild(el("div", { id: "geogaps-panel-profile" }, "Cargando perfil…"));
    var link = el("a", { href: config.urls.profile + encodeURIComponent(cut), id: "geogaps-profile-link" },
      "Ver perfil imprimible de la comuna");
    panel.appendChild(link);
    renderPanelScores(cut);
    if (!options || options.scroll !== false) bringIntoView(panel);
    fetch(config.urls.commune + encodeURIComponent(cut)).then(checked).then(function (profile) {
      // Medians of the same run, for the commune's own region (the API profile has values only).
      return fetch(config.urls.medians + encodeURIComponent(profile.region_code) + ".json")
        .then(checked).catch(function () { return {}; })
        .then(function (medians) { if (state.selected === cut) renderPanelProfile(profile, medians); });
    }).catch(function (error) {
      if (state.selected === cut) byId("geogaps-panel-profile").textContent = "Perfil no disponible (" + error.message + ")";
    });
  }

  function closePanel() {
    var panel = byId("geogaps-panel");
    panel.hidden = true;
    clear(panel);
    state.selected = null;
    restyle();
    Array.prototype.forEach.call(document.querySelectorAll("#geogaps-table-body tr.geogaps-selected"), function (tr) {
      tr.classList.remove("geogaps-selected");
    });
  }

  // The panel sits in the side column (below the map on a phone): scroll it to the top of
  // what the reader sees, unless all of it is already visible.
  function bringIntoView(panel) {
    var box = panel.getBoundingClientRect();
    var bottom = window.innerHeight || document.documentElement.clientHeight;
    var side = panel.closest(".geogaps-side");
    var sideBox = side ? side.getBoundingClientRect() : { top: 0, bottom: bottom };
    var top = Math.max(0, sideBox.top), end = Math.min(bottom, sideBox.bottom);
    if (box.top >= top && box.bottom <= end) return;
    panel.scrollIntoView({ block: "start", inline: "nearest" });
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
    // The view's answer as the server wrote it for every surface (analysis/view.py).
    var view = row.view || {};
    var where = state.region ? " en la región" : " nacional";
    fact("Puntaje", formatNumber(row.score, 3));
    fact("Tramo", view.tier_label);
    fact("Lugar" + where, view.place_label);
    if (state.region) fact("Lugar nacional", view.national_place_label);
    if (view.top_tier_share !== null && view.top_tier_share !== undefined) {
      fact("Intervalo 5–95 %" + (state.region ? " en la región" : ""), view.interval_label +
        " (lugar" + where + " en el 90 % de las simulaciones)");
      fact("En el tramo 1" + (state.region ? " de la región" : ""), view.top_tier_label + " de las simulaciones");
      fact("Certeza", view.certainty_label);
    } else {
      fact("Incertidumbre", "no calculada con pesos modificados");
    }
    fact("Cobertura", view.coverage_label + " de los indicadores que entran en el ámbito");
    if (view.note) fact("Nota", view.note);
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
        // A missing value says why (the layer does not cover the commune, or the source lacks it).
        var valueCell = el("td", { "class": "num" }, formatValue(item.value, item.unit));
        if (item.missing_reason) valueCell.setAttribute("title", item.missing_reason);
        tr.appendChild(valueCell);
        var median = medians[item.id] || {};
        tr.appendChild(el("td", { "class": "num" }, formatValue(median.regional_median, item.unit)));
        tr.appendChild(el("td", { "class": "num" }, formatValue(median.national_median, item.unit)));
        body.appendChild(tr);
      });
      box.appendChild(el("h3", {}, "Indicadores"));
      box.appendChild(table);
    }
    var apr = profile.apr || {};
    if (apr.reason && (state.challenge === config.composite_id || state.challenge === "agua")) {
      box.appendChild(el("h3", {}, "Agua potable rural (APR)"));
      box.appendChild(el("p", { "class": "geogaps-small geogaps-missing" }, apr.reason));
    }
    var projectPart = profile.projects || {};
    var projects = projectPart.items || [];
    if (projectPart.reason) {
      // The projects layer does not cover the commune: no count, not "0".
      box.appendChild(el("h3", {}, "Proyectos: " + labels.missing));
      box.appendChild(el("p", { "class": "geogaps-small geogaps-missing" }, projectPart.reason));
      return;
    }
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

  return { select: selectCommune, renderScores: renderPanelScores, close: closePanel };
};
