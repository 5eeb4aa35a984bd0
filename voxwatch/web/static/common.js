// voxwatch web: helpers every page uses: the API call, the score plot (SVG), the spectrogram (canvas), the
// rolling chart of a live stream. Drawn here from the JSON the API returns; no library, nothing from a CDN.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (_) { body = { error: text || response.statusText }; }
  if (!response.ok) {
    const message = (body && (body.error || JSON.stringify(body.detail))) || response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return body;
}

function svgEl(name, attrs, parent) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function niceStep(span, target) {
  const raw = span / target, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
}

// The score over time: one point per window (at its centre), the threshold, the utterances shaded by verdict,
// and the verifier's score when the record carries one.
function drawScorePlot(svg, record) {
  const W = 900, H = 230, L = 42, R = 12, T = 12, B = 28;
  svg.innerHTML = "";
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const duration = Math.max(record.duration_s || 0, ...record.windows.map((w) => w.end_s), 0.1);
  const x = (t) => L + (t / duration) * (W - L - R);
  const y = (s) => T + (1 - s) * (H - T - B);
  for (const span of record.spans || []) {
    svgEl("rect", { class: `span ${span.verdict}`, x: x(span.start_s), y: T, width: Math.max(1, x(span.end_s) - x(span.start_s)),
                    height: H - T - B }, svg);
  }
  svgEl("line", { class: "axis", x1: L, y1: y(0), x2: W - R, y2: y(0) }, svg);
  svgEl("line", { class: "axis", x1: L, y1: y(0), x2: L, y2: y(1) }, svg);
  for (const s of [0, 0.5, 1]) {
    svgEl("text", { x: L - 6, y: y(s) + 4, "text-anchor": "end" }, svg).textContent = s.toFixed(1);
  }
  const step = niceStep(duration, 8);
  for (let t = 0; t <= duration + 1e-9; t += step) {
    svgEl("line", { class: "tick", x1: x(t), y1: y(0), x2: x(t), y2: y(0) + 4 }, svg);
    svgEl("text", { x: x(t), y: H - 8, "text-anchor": "middle" }, svg).textContent = `${+t.toFixed(2)} s`;
  }
  svgEl("line", { class: "threshold", x1: L, y1: y(record.threshold), x2: W - R, y2: y(record.threshold) }, svg);
  svgEl("text", { x: W - R, y: y(record.threshold) - 5, "text-anchor": "end" }, svg).textContent =
    `threshold ${record.threshold.toFixed(2)}`;
  const centre = (w) => (w.start_s + w.end_s) / 2;
  const byUtterance = new Map();
  for (const w of record.windows) {
    if (!byUtterance.has(w.utterance)) byUtterance.set(w.utterance, []);
    byUtterance.get(w.utterance).push(w);
  }
  for (const windows of byUtterance.values()) {
    svgEl("polyline", { class: "score-line", points: windows.map((w) => `${x(centre(w))},${y(w.score)}`).join(" ") }, svg);
    const checked = windows.filter((w) => typeof w.verifier_score === "number");
    if (checked.length) {
      svgEl("polyline", { class: "verifier-line",
                          points: checked.map((w) => `${x(centre(w))},${y(w.verifier_score)}`).join(" ") }, svg);
    }
  }
  for (const w of record.windows) {
    const dot = svgEl("circle", { class: `window-point ${w.verdict}`, cx: x(centre(w)), cy: y(w.score), r: 4 }, svg);
    svgEl("title", {}, dot).textContent = `${w.start_s.toFixed(2)}-${w.end_s.toFixed(2)} s: ${w.score.toFixed(3)}`;
  }
}

function legendHtml(record) {
  const verifier = record.windows.some((w) => typeof w.verifier_score === "number");
  return `<span><i class="lg-score"></i>window score</span>` +
    (verifier ? `<span><i class="lg-verifier"></i>verifier score</span>` : "") +
    `<span><i class="lg-threshold"></i>threshold</span>` +
    `<span><i class="lg-fake"></i>fake utterance</span><span><i class="lg-real"></i>real utterance</span>`;
}

// A colour map from dark blue through red to pale yellow (values 0..255)
const COLOURS = [[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109], [252, 253, 191]];
function colour(v) {
  const p = (v / 255) * (COLOURS.length - 1), i = Math.min(COLOURS.length - 2, Math.floor(p)), f = p - i;
  return COLOURS[i].map((c, k) => Math.round(c + f * (COLOURS[i + 1][k] - c)));
}

// spans: [{start_s, end_s}] in the same time as the spectrogram, drawn as marked boxes
function drawSpectrogram(canvas, spec, spans) {
  const bytes = Uint8Array.from(atob(spec.data), (c) => c.charCodeAt(0));
  canvas.width = spec.columns;
  canvas.height = spec.rows;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(spec.columns, spec.rows);
  for (let r = 0; r < spec.rows; r++) {
    for (let c = 0; c < spec.columns; c++) {
      const [red, green, blue] = colour(bytes[r * spec.columns + c]);
      const o = ((spec.rows - 1 - r) * spec.columns + c) * 4;  // low frequencies at the bottom
      image.data[o] = red; image.data[o + 1] = green; image.data[o + 2] = blue; image.data[o + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  const col = (t) => (t - spec.window_s / 2) / spec.hop_s;
  ctx.lineWidth = 2;
  for (const span of spans || []) {
    const x0 = Math.max(0, col(span.start_s)), x1 = Math.min(spec.columns, col(span.end_s));
    ctx.fillStyle = "rgba(255, 60, 60, 0.18)";
    ctx.fillRect(x0, 0, Math.max(1, x1 - x0), spec.rows);
    ctx.strokeStyle = "rgba(255, 80, 80, 0.95)";
    ctx.strokeRect(x0 + 1, 1, Math.max(1, x1 - x0 - 2), spec.rows - 2);
  }
}

// A live stream's recent utterance scores against its threshold
function drawRolling(svg, scores, threshold) {
  const W = 300, H = 70, n = Math.max(scores.length, 2);
  svg.innerHTML = "";
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const x = (i) => 4 + (i / (n - 1)) * (W - 8), y = (s) => 4 + (1 - s) * (H - 8);
  if (typeof threshold === "number") {
    svgEl("line", { class: "threshold", x1: 0, y1: y(threshold), x2: W, y2: y(threshold) }, svg);
  }
  if (scores.length) {
    svgEl("polyline", { class: "score-line", points: scores.map((s, i) => `${x(i)},${y(s)}`).join(" ") }, svg);
    scores.forEach((s, i) => svgEl("circle", { class: `window-point ${typeof threshold === "number" && s >= threshold ? "fake" : "real"}`,
                                                cx: x(i), cy: y(s), r: 3 }, svg));
  }
}

function fmtScore(v) { return typeof v === "number" ? v.toFixed(3) : "-"; }
function fmtTime(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "-"; }
function escapeText(s) { const d = document.createElement("div"); d.textContent = String(s ?? ""); return d.innerHTML; }
