/* budgetkg pages: the SPARQL editor runs queries against /sparql and renders the results.
 * Document text is data: every value is written with textContent, never innerHTML. */
"use strict";

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function termText(term) {
  if (!term) return "";
  if (term.type === "bnode") return "_:" + term.value;
  return term.value;
}

function renderSolutions(data, box) {
  const vars = (data.head && data.head.vars) || [];
  const rows = (data.results && data.results.bindings) || [];
  const table = el("table", null, "data");
  const head = table.createTHead().insertRow();
  vars.forEach(function (v) { head.appendChild(el("th", v)); });
  const body = table.createTBody();
  rows.forEach(function (binding) {
    const tr = body.insertRow();
    vars.forEach(function (v) {
      const term = binding[v];
      const td = tr.insertCell();
      if (term && term.type === "uri" && term.value.indexOf("https://w3id.org/budgetkg/id/") === 0 &&
          term.value.indexOf("/indicator/") > 0) {
        const a = el("a", term.value);
        a.href = "/indicator?iri=" + encodeURIComponent(term.value);
        td.appendChild(a);
      } else {
        td.textContent = termText(term);
      }
    });
  });
  box.appendChild(table);
  return rows.length;
}

async function runQuery(event) {
  event.preventDefault();
  const query = document.getElementById("query").value;
  const status = document.getElementById("query-status");
  const box = document.getElementById("query-results");
  box.replaceChildren();
  status.textContent = "Running…";
  const started = performance.now();
  let response;
  try {
    response = await fetch("/sparql", {
      method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/sparql-results+json, text/turtle;q=0.9"},
      body: new URLSearchParams({query: query}),
    });
  } catch (err) {
    status.textContent = "The server could not be reached: " + err;
    return;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let message = "HTTP " + response.status;
    try { const data = await response.json(); message = data.error.message; } catch (e) { /* not JSON */ }
    status.textContent = "Error: " + message;
    status.className = "error";
    return;
  }
  status.className = "note";
  const truncated = response.headers.get("X-Result-Truncated") === "true";
  if (type.indexOf("json") >= 0) {
    const data = await response.json();
    if (typeof data.boolean === "boolean") {
      status.textContent = "ASK → " + data.boolean + " (" + seconds + " s)";
      return;
    }
    const n = renderSolutions(data, box);
    status.textContent = n + " rows in " + seconds + " s" +
      (truncated ? " — capped at " + response.headers.get("X-Result-Limit") + " rows" : "");
  } else {
    box.appendChild(el("pre", await response.text()));
    status.textContent = "Graph result in " + seconds + " s" + (truncated ? " (capped)" : "");
  }
}

function pickExample(event) {
  const option = event.target.selectedOptions[0];
  if (option && option.dataset.query) document.getElementById("query").value = option.dataset.query;
}

document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("sparql-form");
  if (form) {
    document.getElementById("run-query").addEventListener("click", runQuery);
    document.getElementById("examples").addEventListener("change", pickExample);
  }
});
