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

  function load(keepStatus) {
    return Promise.all([json(base), json(base + "/matriz"), json(base + "/compromisos")]).then(function (answers) {
      var mesa = answers[0];
      byId("mesa-nombre").textContent = mesa.nombre;
      byId("mesa-sub").textContent = "Comunas " + mesa.comunas.join(", ");
      byId("mesa-acceso").hidden = true;
      byId("mesa-contenido").hidden = false;
      drawMatrix(answers[1]);
      drawBoard(answers[2].compromisos, mesa.miembros);
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
