/* The Mesa's page: the matrix as an editable table beside the commune's gaps, and the
   commitments board. Everything comes from the JSON API with the member's token (kept in this
   tab's sessionStorage only); every text from the Mesa is set with textContent. A score edit
   is a PATCH with If-Match: if someone changed the row meanwhile (412) the page says so and
   reloads, never overwriting a colleague. */
(function () {
  "use strict";
  var mesaId = document.body.dataset.mesa;
  var base = "/mesas/" + mesaId;
  var storageKey = "geogaps-mesa-" + mesaId;
  var byId = function (id) { return document.getElementById(id); };

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function status(text, isError) {
    var node = byId("mesa-estado");
    node.textContent = text;
    node.className = isError ? "error" : "";
  }
  function token() { return sessionStorage.getItem(storageKey); }
  function call(path, options) {
    options = options || {};
    options.headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
    return fetch(path, options).then(function (response) {
      if (response.ok) return response;
      return response.json().catch(function () { return {}; }).then(function (body) {
        var detail = body.detail;
        if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join("; ");
        var error = new Error(detail || ("error " + response.status));
        error.status = response.status;
        throw error;
      });
    });
  }
  function json(path) { return call(path).then(function (r) { return r.json(); }); }

  function gapText(gap) {
    if (!gap) return "texto libre";
    if (gap.puntaje === null || gap.puntaje === undefined) return gap.motivo || "sin dato";
    var place = gap.lugar === null ? "sin dato" : "lugar " + gap.lugar + (gap.de ? " de " + gap.de : "");
    return (gap.nivel_etiqueta || "sin dato") + " · " + place;
  }

  function drawMatrix(matrix) {
    var table = byId("mesa-matriz");
    var head = table.tHead;
    var body = table.tBodies[0];
    head.textContent = "";
    body.textContent = "";
    var header = el("tr");
    ["Necesidad o problema", "Desafío", "Brecha de datos"].forEach(function (t) { header.appendChild(el("th", t)); });
    matrix.criterios.forEach(function (c) { header.appendChild(el("th", c.nombre + " (peso " + c.peso + ")")); });
    header.appendChild(el("th", "Recursos"));
    header.appendChild(el("th", "Prioridad"));
    head.appendChild(header);
    byId("mesa-regla").textContent = matrix.regla;
    matrix.filas.forEach(function (row) {
      var tr = el("tr");
      tr.dataset.fila = row.id;
      tr.appendChild(el("td", row.necesidad));
      tr.appendChild(el("td", row.desafio || "—"));
      tr.appendChild(el("td", gapText(row.brecha)));
      matrix.criterios.forEach(function (c) {
        var td = el("td");
        var input = document.createElement("input");
        input.type = "number"; input.min = 1; input.max = 5; input.step = 1;
        input.name = c.id;
        input.setAttribute("aria-label", c.nombre + ": " + row.necesidad);
        var value = row.puntajes[c.id];
        input.value = value === null || value === undefined ? "" : value;
        input.addEventListener("change", function () { saveScore(row, c.id, input.value); });
        td.appendChild(input);
        tr.appendChild(td);
      });
      tr.appendChild(el("td", row.recursos || "—"));
      var priority = el("td", row.prioridad.texto, "prioridad");
      if (row.prioridad.motivo) priority.title = row.prioridad.motivo;
      tr.appendChild(priority);
      body.appendChild(tr);
    });
  }

  function saveScore(row, criterion, text) {
    var scores = Object.assign({}, row.puntajes);
    scores[criterion] = text === "" ? null : Number(text);
    status("Guardando…");
    call(base + "/matriz/" + row.id, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "If-Match": '"fila_matriz-' + row.id + "-v" + row.version + '"' },
      body: JSON.stringify({ puntajes: scores })
    }).then(function () {
      status("Guardado.");
      return load();
    }).catch(function (error) {
      if (error.status === 412) {
        status("Otra persona cambió esta fila mientras la editaba: se recargó; repita su cambio.", true);
        return load(true);
      }
      status(error.message, true);
    });
  }

  function light(commitment, today) {
    if (commitment.estado === "cumplido") return "verde";
    if (commitment.estado === "cancelado") return "gris";
    if (commitment.atrasado) return "rojo";
    var days = (Date.parse(commitment.vence) - Date.parse(today)) / 86400000;
    return days <= 14 ? "ambar" : "";
  }

  function drawBoard(commitments, members) {
    var board = byId("mesa-tablero");
    board.textContent = "";
    var today = new Date().toISOString().slice(0, 10);
    var names = {};
    members.forEach(function (m) { names[m.id] = m.nombre; });
    if (!commitments.length) board.appendChild(el("p", "Sin compromisos registrados.", "nota"));
    commitments.forEach(function (c) {
      var card = el("div", null, "tarjeta " + light(c, today));
      card.dataset.compromiso = c.id;
      card.appendChild(el("strong", c.descripcion));
      card.appendChild(el("div", names[c.responsable] || "sin dato"));
      card.appendChild(el("div", "Vence " + c.vence.split("-").reverse().join("-") + " · " + (c.atrasado ? "atrasado" : c.estado)));
      board.appendChild(card);
    });
  }

  function legendItem(list, colour, text) {
    var item = el("li");
    var swatch = el("span", null, "muestra");
    swatch.style.background = colour;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(text));
    list.appendChild(item);
  }

  var map = null;
  var mapLayer = null;
  function drawMap(collection) {
    if (!window.L) return;
    if (!map) {
      // No basemap: the page loads nothing from another host; the communes are the map.
      map = L.map("mesa-mapa", { attributionControl: false, zoomSnap: 0.25 });
    }
    if (mapLayer) map.removeLayer(mapLayer);
    var legend = byId("mesa-mapa-leyenda");
    legend.textContent = "";
    var seen = {};
    mapLayer = L.geoJSON(collection, {
      // One style function for both kinds (Leaflet applies it to point markers too).
      style: function (feature) {
        var p = feature.properties;
        if (p.tipo === "iniciativa") {
          return { color: "#fff", weight: 2, fillColor: p.ubicacion === "comuna" ? "#8e24aa" : "#e65100", fillOpacity: 1 };
        }
        return { color: "#333", weight: 1, fillColor: p.color, fillOpacity: 0.75 };
      },
      pointToLayer: function (feature, latlng) { return L.circleMarker(latlng, { radius: 7 }); },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        var box = el("div");
        if (p.tipo === "comuna") {
          var gap = p.brecha || {};
          box.appendChild(el("strong", p.nombre));
          box.appendChild(el("div", collection.desafio + ": " + gapText(gap.desafio ? gap : null)));
          var label = gap.nivel_etiqueta || "sin dato";
          if (!seen[label]) {
            seen[label] = true;
            legendItem(legend, p.color, label);
          }
        } else {
          box.appendChild(el("strong", p.nombre));
          box.appendChild(el("div", p.tipologia + " · " + p.etapa));
          if (p.ubicacion === "comuna") box.appendChild(el("div", "Sin punto: se muestra en su comuna."));
        }
        layer.bindPopup(box);
      }
    }).addTo(map);
    var bounds = mapLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
    var points = collection.features.filter(function (f) { return f.properties.tipo === "iniciativa"; });
    var note = "Color: tramo de " + collection.desafio + " de cada comuna. " + points.length +
      " iniciativas en el mapa (naranja: en su punto; morado: sin punto, en su comuna).";
    if (collection.sin_ubicacion) note += " " + collection.sin_ubicacion + " sin comuna ni punto: no se muestran.";
    byId("mesa-mapa-nota").textContent = note;
    byId("mesa-mapa").dataset.iniciativas = String(points.length);
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function drawProgress(progress) {
    var box = byId("mesa-avance");
    box.textContent = "";
    var months = progress.meses;
    if (!months.length) {
      box.appendChild(el("p", "Sin compromisos cumplidos ni seguimiento registrados todavía.", "nota"));
      return;
    }
    var top = Math.max.apply(null, months.map(function (m) { return Math.max(m.cumplidos, m.seguimiento); })) || 1;
    // Months share a fixed width: a long-lived Mesa gets thinner bars and fewer month labels.
    var width = 720, height = 150, base = height - 26;
    var slot = Math.min(48, (width - 20) / months.length), bar = slot * 0.4;
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img", width: width, height: height,
      "aria-label": "Compromisos cumplidos y entradas de seguimiento por mes" });
    svg.appendChild(svgEl("line", { x1: 10, x2: width - 10, y1: base, y2: base, stroke: "#999" }));
    months.forEach(function (m, i) {
      var x = 10 + i * slot;
      [["cumplidos", m.cumplidos, 0], ["seguimiento", m.seguimiento, bar]].forEach(function (series) {
        var h = series[1] / top * (base - 16);
        var rect = svgEl("rect", { x: x + series[2], y: base - h, width: bar, height: h, "class": series[0] });
        rect.appendChild(svgEl("title", {}, m.mes + ": " + series[1] + (series[0] === "cumplidos" ? " compromisos cumplidos" : " entradas de seguimiento")));
        svg.appendChild(rect);
        if (series[1] > 0) svg.appendChild(svgEl("text", { x: x + series[2] + bar / 2, y: base - h - 3, "text-anchor": "middle" }, series[1]));
      });
      var parts = m.mes.split("-");
      if (months.length <= 12 || parts[1] === "01" || i === 0 || i === months.length - 1) {
        var anchor = i === 0 ? "start" : (i === months.length - 1 ? "end" : "middle");
        var at = i === 0 ? x : (i === months.length - 1 ? x + 2 * bar : x + bar);
        svg.appendChild(svgEl("text", { x: at, y: height - 8, "text-anchor": anchor }, parts[1] + "-" + parts[0]));
      }
    });
    box.appendChild(svg);
    var legend = el("ul", null, "leyenda");
    legendItem(legend, "#2e7d32", "Compromisos cumplidos");
    legendItem(legend, "#1f3b57", "Entradas de seguimiento");
    box.appendChild(legend);
    var last = months[months.length - 1];
    box.dataset.cumplidos = String(last.cumplidos_acumulados);
    box.appendChild(el("p", "Compromisos cumplidos en total: " + last.cumplidos_acumulados + ".", "nota"));
  }

  function load(keepStatus) {
    return Promise.all([json(base), json(base + "/matriz"), json(base + "/compromisos"),
      json(base + "/mapa.geojson"), json(base + "/avance")]).then(function (answers) {
      var mesa = answers[0];
      byId("mesa-nombre").textContent = mesa.nombre;
      byId("mesa-sub").textContent = "Comunas " + mesa.comunas.join(", ");
      byId("mesa-acceso").hidden = true;
      byId("mesa-contenido").hidden = false;
      drawMatrix(answers[1]);
      drawBoard(answers[2].compromisos, mesa.miembros);
      drawMap(answers[3]);
      drawProgress(answers[4]);
      if (!keepStatus) status("");
      document.body.dataset.mesaReady = String(Date.now());
      // Linked from the commune profile as ".../pagina#reporte": show the report once in.
      if (location.hash === "#reporte") {
        history.replaceState(null, "", location.pathname);
        openBlob(base + "/reporte", null, true);
      }
    }).catch(function (error) {
      if (error.status === 401 || error.status === 403) {
        sessionStorage.removeItem(storageKey);
        byId("mesa-acceso").hidden = false;
        byId("mesa-contenido").hidden = true;
      }
      status(error.message, true);
    });
  }

  function openBlob(path, download, here) {
    call(path).then(function (response) { return response.blob(); }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      if (download) {
        var link = el("a"); link.href = url; link.download = download; link.click();
      } else if (here) {
        location.assign(url);
      } else {
        window.open(url, "_blank");
      }
    }).catch(function (error) { status(error.message, true); });
  }

  byId("mesa-acceso").addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem(storageKey, byId("mesa-token").value.trim());
    load();
  });
  byId("mesa-reporte").addEventListener("click", function () { openBlob(base + "/reporte"); });
  byId("mesa-excel").addEventListener("click", function () { openBlob(base + "/matriz.xlsx", "matriz.xlsx"); });
  if (token()) load();
})();
