// The Voices page: the enrolled voices (GET /api/voices), enrol one from uploaded recordings (POST /api/voices),
// remove one (DELETE /api/voices/NAME), check a recording against them (POST /api/voices/check). Requests that
// change or read uploads carry X-Voxwatch-Request: 1 (the server refuses them without it: no cross-site form).
"use strict";

// a voiceprint's genuine threshold: an S-norm score (cohort-normalised), or a cosine similarity (older voiceprints)
function genuineFrom(v, similarityWord) {
  return v.scoring === "snorm" ? `S-norm ${v.thresholds.genuine.toFixed(2)}`
                               : `${similarityWord}${v.thresholds.genuine.toFixed(3)}`;
}

const $ = (id) => document.getElementById(id);
const SENT = { "X-Voxwatch-Request": "1" };

function say(id, text, kind) {
  $(id).textContent = text;
  $(id).className = kind || "";
}

async function load() {
  let data;
  try {
    data = await api("/api/voices");
  } catch (err) {
    say("voices-summary", err.message, "error");
    return;
  }
  say("voices-summary", `${data.voices.length} voice(s) enrolled in ${data.dir}.`, "muted");
  const body = $("voices").querySelector("tbody");
  body.innerHTML = "";
  const expect = $("check-expect");
  expect.innerHTML = `<option value="">nearest</option>`;
  for (const v of data.voices) {
    const tr = document.createElement("tr");
    tr.dataset.name = v.name;
    if (v.error) {
      tr.innerHTML = `<td>${escapeText(v.name)}</td><td colspan="4" class="error">${escapeText(v.error)}</td><td></td>`;
    } else {
      tr.innerHTML = `<td>${escapeText(v.name)}</td><td class="num">${v.speech_s.toFixed(1)} s</td>` +
        `<td class="num">${v.recordings}</td><td class="num">${genuineFrom(v, "")}</td>` +
        `<td>${escapeText(v.created)}</td><td></td>`;
      const option = document.createElement("option");
      option.value = v.name;
      option.textContent = v.name;
      expect.appendChild(option);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => removeVoice(v.name));
    tr.lastElementChild.appendChild(remove);
    body.appendChild(tr);
  }
  if (!data.voices.length) body.innerHTML = `<tr><td colspan="6" class="muted">No voices enrolled yet.</td></tr>`;
}

async function removeVoice(name) {
  if (!window.confirm(`Remove the voice ${name}? Its voiceprint is deleted.`)) return;
  try {
    await api(`/api/voices/${encodeURIComponent(name)}`, { method: "DELETE", headers: SENT });
  } catch (err) {
    say("voices-summary", err.message, "error");
    return;
  }
  await load();
}

async function enrol(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("name", $("enrol-name").value.trim());
  form.append("replace", $("enrol-replace").checked ? "true" : "false");
  form.append("telephone", $("enrol-telephone").checked ? "true" : "false");
  for (const file of $("enrol-files").files) form.append("files", file);
  say("enrol-result", "Enrolling…", "muted");
  try {
    const v = await api("/api/voices", { method: "POST", body: form, headers: SENT });
    say("enrol-result", `Enrolled ${v.name}: ${v.speech_s.toFixed(1)} s of speech from ${v.recordings} recording(s), ` +
        `channels ${v.channels.join(", ")}, genuine from ${genuineFrom(v, "similarity ")}.` +
        v.warnings.map((w) => ` Warning: ${w}`).join(""), v.warnings.length ? "muted" : "ok");
  } catch (err) {
    say("enrol-result", err.message, "error");
  }
  await load();
}

async function checkRecording(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("file", $("check-file").files[0]);
  form.append("expect", $("check-expect").value);
  say("check-result", "Checking…", "muted");
  try {
    const r = await api("/api/voices/check", { method: "POST", body: form, headers: SENT });
    const v = r.voice;
    const meaning = { genuine: "sounds like", clone: "sounds like, but is likely a clone of", none: "is not close to" };
    say("check-result", `${r.file} ${meaning[v.match] || v.match} ${v.name} (similarity ${v.similarity.toFixed(3)}, ` +
        `clone score ${v.clone_score.toFixed(3)}): ${v.match.toUpperCase()}`, v.match === "clone" ? "error" : "ok");
  } catch (err) {
    say("check-result", err.message, "error");
  }
}

$("enrol-form").addEventListener("submit", enrol);
$("check-form").addEventListener("submit", checkRecording);
load();
