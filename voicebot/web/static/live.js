// Live calls table, fed by the server's websocket (Redis pub/sub ch:calls relayed per process).
"use strict";

(function () {
  const tbody = document.querySelector("#live-calls tbody");
  const status = document.getElementById("live-status");
  const empty = document.getElementById("no-calls");
  if (!tbody) return;

  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  function when(ts) {
    const n = Number(ts);
    return n ? new Date(n * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
  }

  function rowFor(id) {
    return tbody.querySelector('tr[data-call="' + CSS.escape(id) + '"]');
  }

  function upsert(c) {
    let tr = rowFor(c.call_id);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.call = c.call_id;
      const link = document.createElement("a");
      link.href = "/supervisor/calls/" + encodeURIComponent(c.call_id);
      link.textContent = c.call_id;
      const first = document.createElement("td");
      first.appendChild(link);
      tr.append(first, cell(c.caller_number), cell(c.language), cell(c.node, "node"),
        cell(Number(c.frustration || 0).toFixed(2), "frustration"), cell(when(c.started_at)));
      tbody.appendChild(tr);
    }
    refreshEmpty();
    return tr;
  }

  function refreshEmpty() {
    if (empty) empty.hidden = tbody.rows.length > 0;
  }

  function onEvent(ev) {
    if (ev.event === "snapshot") {
      tbody.replaceChildren();
      ev.calls.forEach(upsert);
    } else if (ev.event === "started") {
      upsert(ev);
    } else if (ev.event === "turn") {
      const tr = rowFor(ev.call_id) || upsert({ call_id: ev.call_id });
      if (ev.role === "bot") {
        if (ev.node) tr.querySelector(".node").textContent = ev.node;
        if (ev.frustration !== undefined) {
          tr.querySelector(".frustration").textContent = Number(ev.frustration).toFixed(2);
        }
      }
    } else if (ev.event === "ended") {
      const tr = rowFor(ev.call_id);
      if (tr) tr.remove();
      refreshEmpty();
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/supervisor/live/ws");
    ws.onopen = function () { status.textContent = "live"; status.className = "status ok"; };
    ws.onmessage = function (m) { onEvent(JSON.parse(m.data)); };
    ws.onclose = function () {
      status.textContent = "reconnecting…";
      status.className = "status";
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
