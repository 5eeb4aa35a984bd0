// The Analyze page: choose, drop or record a file, play it, send it to POST /api/score, draw the verdict, the
// window scores over time, the spectrogram with the fake utterances marked, and offer the JSON for download.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;  // {blob, name}
let recorder = null;  // {stream, context, node, chunks}

function setFile(blob, name) {
  current = { blob, name };
  $("player").src = URL.createObjectURL(blob);
  $("analyze").disabled = false;
  $("status").textContent = `Ready: ${name} (${(blob.size / 1024).toFixed(0)} KB)`;
  $("status").className = "muted";
}

$("file").addEventListener("change", (e) => { if (e.target.files[0]) setFile(e.target.files[0], e.target.files[0].name); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const file = e.dataTransfer.files[0];
  if (file) setFile(file, file.name);
});

$("analyze").addEventListener("click", async () => {
  if (!current) return;
  const form = new FormData();
  form.append("file", current.blob, current.name);
  $("analyze").disabled = true;
  $("status").textContent = `Analyzing ${current.name}…`;
  $("status").className = "muted";
  try {
    const record = await api("/api/score?spectrogram=true", { method: "POST", body: form });
    show(record);
    $("status").textContent = `Analyzed ${record.file}`;
  } catch (err) {
    $("status").textContent = err.message;
    $("status").className = "error";
  } finally {
    $("analyze").disabled = false;
  }
});

function show(record) {
  const verdict = $("verdict");
  verdict.textContent = { fake: "FAKE", real: "REAL" }[record.verdict] || "NO SPEECH";
  verdict.className = `verdict ${record.verdict}`;
  const score = record.score === null ? "no scorable speech" : `score ${record.score.toFixed(3)}`;
  const verifier = record.verifier ? ` · verifier ${record.verifier} judged ${record.verified_utterances}` : "";
  $("summary").textContent = `${score} against threshold ${record.threshold.toFixed(3)} · ` +
    `${record.utterances} utterance(s), ${record.fake_utterances} fake · ${record.duration_s.toFixed(1)} s · ` +
    `model ${record.model}${verifier}`;
  drawScorePlot($("score-plot"), record);
  $("legend").innerHTML = legendHtml(record);
  if (record.spectrogram) {
    drawSpectrogram($("spectrogram"), record.spectrogram, record.spans.filter((s) => s.verdict === "fake"));
  }
  $("utterances").querySelector("tbody").innerHTML = record.spans.map(utteranceRow).join("") ||
    `<tr><td colspan="11" class="muted">No speech found.</td></tr>`;
  const { spectrogram, ...plain } = record;
  const download = $("download");
  if (download.href.startsWith("blob:")) URL.revokeObjectURL(download.href);
  download.href = URL.createObjectURL(new Blob([JSON.stringify(plain, null, 1)], { type: "application/json" }));
  download.download = `${record.file.replace(/\.[^.]*$/, "")}.voxwatch.json`;
  $("result").hidden = false;
}

// One utterance of the table: its span, the deciding stage's score and threshold, the verdict, which stage
// decided with both stages' scores (the verifier's where the utterance reached it), and the reason where given.
function utteranceRow(s) {
  return `<tr><td>${s.utterance}</td><td class="num">${s.start_s.toFixed(2)} s</td>` +
    `<td class="num">${s.end_s.toFixed(2)} s</td><td class="num">${fmtScore(s.score)}</td>` +
    `<td class="num">${fmtScore(s.threshold)}</td>` +
    `<td><span class="badge ${escapeText(s.verdict)}">${escapeText(s.verdict)}</span></td>` +
    `<td class="stage">${escapeText(s.stage || "filter")}</td><td class="num filter-score">${fmtScore(s.filter_score)}</td>` +
    `<td class="num verifier-score">${fmtScore(s.verifier_score)}</td><td class="num">${s.windows}</td>` +
    `<td class="why">${escapeText(s.why || "")}</td></tr>`;
}

// Recording: the microphone's samples through an AudioWorklet, written out as a 16-bit WAV
$("record").addEventListener("click", async () => {
  if (recorder) return stopRecording();
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const context = new AudioContext();
    await context.audioWorklet.addModule("/static/recorder-worklet.js");
    const node = new AudioWorkletNode(context, "voxwatch-recorder");
    recorder = { stream, context, node, chunks: [], samples: 0 };
    node.port.onmessage = (e) => {
      if (!recorder) return;
      recorder.chunks.push(e.data);
      recorder.samples += e.data.length;
      if (recorder.chunks.length % 40 === 0) {
        $("status").textContent = `Recording… ${(recorder.samples / context.sampleRate).toFixed(1)} s`;
      }
    };
    context.createMediaStreamSource(stream).connect(node);
    node.connect(context.destination);  // pulled by the graph; the processor outputs silence
    $("record").textContent = "■ Stop";
    $("record").classList.add("recording");
    $("status").textContent = "Recording…";
  } catch (err) {
    $("status").textContent = `Cannot record: ${err.message} (the page must be opened as http://localhost or https)`;
    $("status").className = "error";
  }
});

async function stopRecording() {
  const { stream, context, node, chunks } = recorder;
  recorder = null;
  node.disconnect();
  stream.getTracks().forEach((t) => t.stop());
  const rate = context.sampleRate;
  await context.close();
  $("record").textContent = "● Record";
  $("record").classList.remove("recording");
  setFile(wavBlob(chunks, rate), "recording.wav");
}

function wavBlob(chunks, rate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const buffer = new ArrayBuffer(44 + length * 2), view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + length * 2, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, length * 2, true);
  let offset = 44;
  for (const chunk of chunks) {
    for (const v of chunk) { view.setInt16(offset, Math.max(-1, Math.min(1, v)) * 0x7fff, true); offset += 2; }
  }
  return new Blob([buffer], { type: "audio/wav" });
}
