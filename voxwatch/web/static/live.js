// The Live page: GET /api/events (Server-Sent Events). Snapshots (every second) redraw the streams and daemons;
// alerts are listed as they arrive, with the reason the event gives (and notified, when the person allowed it);
// verdicts move a stream's chart.
"use strict";

const $ = (id) => document.getElementById(id);
let snapshot = null;
const seenAlerts = new Set();
const thresholds = new Map();  // "daemon/stream" -> the threshold its events carry (heartbeats may not have come yet)

function alertKey(a) { return [a.daemon && a.daemon.id || a.daemon, a.stream, a.start_s, a.end_s, a.score].join("|"); }

function renderStreams() {
  const box = $("streams");
  if (!snapshot || !snapshot.streams.length) {
    box.innerHTML = `<p class="muted">No stream seen yet on ${escapeText((snapshot && snapshot.connect || []).join(", "))}.</p>`;
    return;
  }
  box.innerHTML = "";
  for (const s of snapshot.streams) {
    const card = document.createElement("div");
    card.className = `stream-card${s.stale ? " stale" : ""}`;
    card.dataset.stream = s.stream;
    const state = s.stale ? `<span class="badge stale">stale</span>` : `<span class="badge ${escapeText(s.state)}">${escapeText(s.state)}</span>`;
    card.innerHTML = `<h3><span>${escapeText(s.stream)} <span class="muted">@ ${escapeText(s.daemon)}</span></span>${state}</h3>` +
      `<div class="muted">last score <b class="last-score">${fmtScore(s.last_score)}</b>` +
      (s.last_verdict ? ` <span class="badge ${escapeText(s.last_verdict)}">${escapeText(s.last_verdict)}</span>` : "") +
      ` · ${s.verdicts} verdicts · ${s.alerts} alerts</div>`;
    const chart = document.createElementNS(SVG_NS, "svg");
    chart.setAttribute("class", "rolling");
    card.appendChild(chart);
    drawRolling(chart, s.scores, s.threshold ?? thresholds.get(`${s.daemon}/${s.stream}`));
    box.appendChild(card);
  }
}

function renderDaemons() {
  $("daemons").querySelector("tbody").innerHTML = snapshot.daemons.map((d) =>
    `<tr class="${d.stale ? "stale" : ""}"><td>${escapeText(d.id)}${d.role === "broker" ? " (broker)" : ""}</td>` +
    `<td>${escapeText(d.host)}</td><td>${d.stale ? '<span class="badge stale">stale</span>' : escapeText(d.state)}</td>` +
    `<td>${d.heartbeat_age_s === null ? "none yet" : `${d.heartbeat_age_s.toFixed(0)} s ago`}</td></tr>`).join("") ||
    `<tr><td colspan="4" class="muted">No daemon heard yet.</td></tr>`;
}

function addAlert(a, live) {
  const key = alertKey(a);
  if (seenAlerts.has(key)) return;
  seenAlerts.add(key);
  const daemon = a.daemon && a.daemon.id || a.daemon;
  const li = document.createElement("li");
  li.className = `alert${live ? " new" : ""}`;
  li.innerHTML = `<span class="badge alert">ALERT · ${escapeText((a.verdict || "fake").toUpperCase())}</span> <b>${escapeText(a.stream)}</b> ` +
    `<span class="muted">@ ${escapeText(daemon)}</span> ${a.start_s.toFixed(1)}–${a.end_s.toFixed(1)} s · ` +
    `score ${a.score.toFixed(3)}${a.early ? " (early)" : ""} · <span class="muted">${fmtTime(a.ts)}</span>` +
    (a.why ? `<div class="why">${escapeText(a.why)}</div>` : "");
  const list = $("alerts");
  list.insertBefore(li, list.firstChild);
  while (list.children.length > 100) list.removeChild(list.lastChild);
  $("no-alerts").hidden = true;
  if (live && "Notification" in window && Notification.permission === "granted") {
    new Notification("voxwatch: synthetic voice detected",
                     { body: `${a.stream} @ ${daemon}: score ${a.score.toFixed(2)}${a.why ? ` (${a.why})` : ""}` });
  }
}

const events = new EventSource("/api/events");
events.addEventListener("open", () => { $("feed-status").textContent = "Connected."; });
events.addEventListener("error", () => { $("feed-status").textContent = "Connection lost; reconnecting…"; });
events.addEventListener("snapshot", (e) => {
  const first = snapshot === null;
  snapshot = JSON.parse(e.data);
  const stale = snapshot.daemons.filter((d) => d.stale).length;
  $("feed-status").textContent = snapshot.error ? snapshot.error :
    `Connected to ${snapshot.connect.join(", ")} · ${snapshot.daemons.length} daemon(s)` +
    (stale ? `, ${stale} stale` : "") + ` · ${snapshot.events} events`;
  if (first) snapshot.alerts.slice().reverse().forEach((a) => addAlert(a, false));
  renderStreams();
  renderDaemons();
});
function streamOf(body) {
  thresholds.set(`${body.daemon.id}/${body.stream}`, body.threshold);
  return snapshot && snapshot.streams.find((r) => r.stream === body.stream && r.daemon === body.daemon.id);
}
events.addEventListener("alert", (e) => {
  const a = JSON.parse(e.data);
  addAlert(a, true);
  const s = streamOf(a);
  if (s) { s.alerts += 1; renderStreams(); }
});
events.addEventListener("verdict", (e) => {
  const v = JSON.parse(e.data);
  const s = streamOf(v);
  if (!s) return;  // the next snapshot brings the new stream
  s.last_score = v.score; s.last_verdict = v.verdict; s.verdicts += 1;
  s.scores = [...s.scores, v.score].slice(-24);
  renderStreams();
});

const notifyButton = $("notify");
if (!("Notification" in window)) notifyButton.hidden = true;
else if (Notification.permission === "granted") notifyButton.textContent = "Notifications on";
notifyButton.addEventListener("click", async () => {
  const permission = await Notification.requestPermission();
  notifyButton.textContent = permission === "granted" ? "Notifications on" : "Notifications blocked";
});
