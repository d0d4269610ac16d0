/* Mapa para planificadores (geogaps): helpers shared by the map scripts (mapa_*.js, mapa.js).
 *
 * Numbers are written with Intl.NumberFormat('es-CL') (decimal comma, thousands point, "45,1 %"),
 * the same style as analysis/formatting.py on the server, with the server's words for a missing
 * value and a rank (domain/labels.py, handed over in the page configuration).
 * el() writes text through textContent only: names from loaded data never pass through innerHTML.
 */
"use strict";

window.geogaps = window.geogaps || {};

/**
 * Helpers bound to the page configuration (the JSON of #geogaps-config).
 *
 * Returns number formatters, small DOM helpers, the JSON reader of fetch answers, the status
 * line, and the names of challenges and regions; the other map scripts receive this object.
 * Tier, place and certainty rules live on the server (analysis/view.py): rows carry them.
 */
window.geogaps.helpers = function (config) {
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
  function setStatus(text) { byId("geogaps-status").textContent = text; }
  function checked(response) {
    if (!response.ok) throw new Error(response.status + " " + response.url);
    return response.json();
  }

  /* ------------------------------------------------------------ names and tier rules */
  function challengeLabel(id) {
    var found = config.challenges.filter(function (c) { return c.id === id; })[0];
    return found ? found.label : id;
  }
  function regionName(code) {
    var found = config.regions.filter(function (r) { return r.code === code; })[0];
    return found ? found.name : code;
  }
  return {
    formatNumber: formatNumber, formatInteger: formatInteger, formatShare: formatShare,
    formatRank: formatRank, rankOf: rankOf, formatValue: formatValue,
    el: el, clear: clear, byId: byId, setStatus: setStatus, checked: checked,
    challengeLabel: challengeLabel, regionName: regionName,
  };
};
