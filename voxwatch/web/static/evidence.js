// The Evidence page: the store's clips newest first, a page at a time; review one (play, spectrogram with the
// alerted span marked) and label it real or fake (POST /api/evidence/ID/label moves it into real/ or fake/).
"use strict";

const $ = (id) => document.getElementById(id);
let page = 1;

async function load() {
  let data;
  try {
    data = await api(`/api/evidence?page=${page}`);
  } catch (err) {
    $("evidence-summary").textContent = err.message;
    $("evidence-summary").className = "error";
    return;
  }
  $("evidence-summary").textContent = data.exists ? `${data.total} clip(s) in ${data.dir}, newest first.` :
    `No evidence directory at ${data.dir} yet: the daemon (voxwatch run) creates it when it saves its first ` +
    `alert clip. Another store: voxwatch web --evidence-dir DIR.`;
  $("evidence-summary").className = data.exists ? "muted" : "warning";
  $("page").textContent = `page ${data.page} of ${data.pages}`;
  $("newer").disabled = data.page <= 1;
  $("older").disabled = data.page >= data.pages;
  const body = $("clips").querySelector("tbody");
  body.innerHTML = "";
  for (const clip of data.clips) {
    const tr = document.createElement("tr");
    tr.dataset.id = clip.id;
    tr.innerHTML = `<td>${fmtTime(clip.ts)}</td><td>${escapeText(clip.stream)}</td>` +
      `<td class="num">${fmtScore(clip.score)}</td><td class="label">${labelBadge(clip.label)}</td>` +
      `<td><button class="review" type="button">Review</button> <button class="mark-real" type="button">Real</button> ` +
      `<button class="mark-fake" type="button">Fake</button></td>`;
    tr.querySelector(".review").addEventListener("click", () => review(clip.id, tr));
    tr.querySelector(".mark-real").addEventListener("click", () => label(clip.id, "real", tr));
    tr.querySelector(".mark-fake").addEventListener("click", () => label(clip.id, "fake", tr));
    body.appendChild(tr);
  }
  if (!data.clips.length) body.innerHTML = `<tr><td colspan="5" class="muted">No clips yet.</td></tr>`;
}

function labelBadge(label) {
  return label ? `<span class="badge ${label}">${label}</span>` : `<span class="muted">not reviewed</span>`;
}

async function review(id, tr) {
  document.querySelectorAll("#clips tr.selected").forEach((r) => r.classList.remove("selected"));
  tr.classList.add("selected");
  try {
    const clip = await api(`/api/evidence/${encodeURIComponent(id)}`);
    $("clip-title").textContent = `${clip.stream}: ${fmtTime(clip.ts)}`;
    $("clip-info").textContent = `score ${fmtScore(clip.score)} (threshold ${fmtScore(clip.threshold)}) · ` +
      `alerted ${clip.start_s.toFixed(1)}–${clip.end_s.toFixed(1)} s of the stream`;
    $("clip-player").src = clip.audio;
    const offset = clip.clip ? clip.clip.start_s : 0;
    drawSpectrogram($("clip-spectrogram"), clip.spectrogram,
                    [{ start_s: clip.start_s - offset, end_s: clip.end_s - offset }]);
    $("clip-detail").hidden = false;
  } catch (err) {
    $("clip-title").textContent = err.message;
    $("clip-detail").hidden = false;
  }
}

async function label(id, value, tr) {
  try {
    const clip = await api(`/api/evidence/${encodeURIComponent(id)}/label`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ label: value }) });
    tr.querySelector(".label").innerHTML = labelBadge(clip.label);
  } catch (err) {
    tr.querySelector(".label").innerHTML = `<span class="error">${escapeText(err.message)}</span>`;
  }
}

$("newer").addEventListener("click", () => { page -= 1; load(); });
$("older").addEventListener("click", () => { page += 1; load(); });
load();
