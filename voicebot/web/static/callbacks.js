// Callback worklist: reload when a callback changes (server websocket fed by Redis pub/sub ch:callbacks),
// unless the user is typing a note or choosing an outcome (then say so, and reload after they save).
"use strict";

(function () {
  const table = document.getElementById("callbacks");
  const status = document.getElementById("worklist-status");
  if (!table) return;
  let stale = false;

  function editing() {
    const el = document.activeElement;
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.tagName === "INPUT");
  }

  function changed() {
    if (editing()) {
      stale = true;
      if (status) status.textContent = "Callbacks changed; the list reloads when you are done here.";
      return;
    }
    window.location.reload();
  }

  document.addEventListener("focusout", function () {
    if (stale) setTimeout(function () { if (!editing()) window.location.reload(); }, 200);
  });

  function connect() {
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + window.location.host + "/callbacks/ws");
    ws.onopen = function () { if (status && !stale) status.textContent = "live"; };
    ws.onmessage = function (msg) {
      try {
        if (JSON.parse(msg.data).event === "callback") changed();
      } catch (e) { /* not ours */ }
    };
    ws.onclose = function () {
      if (status && !stale) status.textContent = "reconnecting…";
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
