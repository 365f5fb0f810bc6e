// Browser softphone: microphone -> PCM16 16 kHz over a websocket; bot audio back, played in order.
"use strict";

(function () {
  const RATE = 16000;
  const $ = (id) => document.getElementById(id);
  const status = $("phone-status");
  const tbody = document.querySelector("#phone-transcript tbody");
  let ws = null, ctx = null, stream = null, nextTime = 0, sources = [];

  function setStatus(text) { status.textContent = text; }

  function addTurn(t) {
    const tr = document.createElement("tr");
    tr.className = t.role || "";
    const action = t.action && t.action !== "continue" ? " → " + t.action + (t.reason ? " (" + t.reason + ")" : "") : "";
    [t.role, t.text, t.intent || "", (t.node || "") + action].forEach(function (v) {
      const td = document.createElement("td");
      td.textContent = v == null ? "" : String(v);
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  }

  function playPcm(buf) {
    const pcm = new Int16Array(buf);
    const audio = ctx.createBuffer(1, pcm.length, RATE);
    const data = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    const src = ctx.createBufferSource();
    src.buffer = audio;
    src.connect(ctx.destination);
    nextTime = Math.max(nextTime, ctx.currentTime);
    src.start(nextTime);
    nextTime += audio.duration;
    sources.push(src);
    src.onended = function () { sources = sources.filter((s) => s !== src); };
  }

  function stopPlayback() {
    sources.forEach((s) => { try { s.stop(); } catch (e) { /* already stopped */ } });
    sources = [];
    nextTime = 0;
  }

  function onMessage(m) {
    if (typeof m.data !== "string") { playPcm(m.data); return; }
    const ev = JSON.parse(m.data);
    if (ev.type === "started") { setStatus("in call"); $("phone-call").textContent = "call " + ev.call_id; }
    else if (ev.type === "turn") addTurn(ev);
    else if (ev.type === "clear") stopPlayback();
    else if (ev.type === "transfer") setStatus("transferred to a human (handoff " + ev.handoff_id + ")");
    else if (ev.type === "ended") { if (!/transferred/.test(status.textContent)) setStatus("ended: " + ev.outcome); finish(); }
    else if (ev.type === "error") { setStatus("error: " + ev.message); finish(); }
  }

  function finish() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("phone-start").disabled = false;
    $("phone-hangup").disabled = true;
    $("phone-send-dtmf").disabled = true;
  }

  async function start() {
    $("phone-start").disabled = true;
    tbody.replaceChildren();
    setStatus("starting…");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
    } catch (e) {
      setStatus("no microphone: " + e.message);
      finish();
      return;
    }
    ctx = ctx || new AudioContext({ sampleRate: RATE });
    await ctx.resume();
    await ctx.audioWorklet.addModule("/static/mic-worklet.js");
    const mic = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, "mic-capture");
    mic.connect(node);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/admin/softphone/ws");
    ws.binaryType = "arraybuffer";
    ws.onopen = function () { ws.send(JSON.stringify({ type: "start", language: $("phone-lang").value })); };
    ws.onmessage = onMessage;
    ws.onclose = function () { node.disconnect(); mic.disconnect(); finish(); };
    node.port.onmessage = function (e) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const f = e.data, out = new Int16Array(f.length);
      for (let i = 0; i < f.length; i++) out[i] = Math.max(-1, Math.min(1, f[i])) * 32767;
      ws.send(out.buffer);
    };
    $("phone-hangup").disabled = false;
    $("phone-send-dtmf").disabled = false;
  }

  $("phone-start").addEventListener("click", start);
  $("phone-hangup").addEventListener("click", function () {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "hangup" }));
  });
  $("phone-send-dtmf").addEventListener("click", function () {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "dtmf", digits: $("phone-dtmf").value }));
    $("phone-dtmf").value = "";
  });
})();
