"""The benchmark's report: Rich tables of throughput, real-time latency and INT8 vs float (docs/performance.md)."""

from __future__ import annotations

import math
from typing import Any


def print_report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result["machine"]
    console.print(f"[bold]voxwatch bench[/] — {m['cpu']} ({m['cores']} cores), model {result['model']['id']}, "
                  f"onnxruntime {m['onnxruntime']} ({result['threads']} intra-op thread(s))")
    tp = result.get("throughput")
    if tp:
        table = Table(title=f"Throughput: {tp['streams']} streams x {tp['seconds']:g} s of audio, fed as fast "
                            f"as taken (median of {len(tp['rtf_per_core_runs'])})")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("real-time factor per CPU core", f"{tp['rtf_per_core']:.0f}x  "
                      f"(runs: {', '.join(f'{v:.0f}' for v in tp['rtf_per_core_runs'])})")
        table.add_row("real-time factor, wall clock", f"{tp['rtf_wall']:.0f}x")
        table.add_row("audio / speech / CPU / wall", f"{tp['audio_s']:.0f} s / {tp['speech_s']:.0f} s / "
                      f"{tp['cpu_s']:.2f} s / {tp['wall_s']:.2f} s")
        table.add_row("windows / batches", f"{tp['windows']} / {tp['batches']} "
                      f"({tp['windows'] / max(1, tp['batches']):.1f} per batch)")
        table.add_row("events received / seq gaps", f"{tp['received']} of {tp['judgements']} / {tp['seq_gaps']}")
        for stage, us in tp["stage_us"].items():
            table.add_row(f"  {stage} (µs per audio s)", f"{us:.1f}")
        table.add_row("  total (µs per audio s)", f"{sum(tp['stage_us'].values()):.1f}")
        table.add_row("CPU by thread (s)", ", ".join(f"{k} {v:.2f}" for k, v in tp["thread_cpu_s"].items()))
        console.print(table)
    if result.get("latency"):
        table = Table(title="Real-time pacing: latency from reading a window's last sample to its event's publish")
        for col in ("streams", "p50 ms", "p99 ms", "max ms", "events", "CPU share of a core", "per stream",
                    "dropped s"):
            table.add_column(col, justify="right")
        for run in result["latency"]:
            lat = run["latency_ms"] or {"p50": math.nan, "p99": math.nan, "max": math.nan, "events": 0}
            table.add_row(str(run["streams"]), f"{lat['p50']:.2f}", f"{lat['p99']:.2f}", f"{lat['max']:.2f}",
                          str(lat["events"]), f"{100 * run['cpu_s'] / run['wall_s']:.2f}%",
                          f"{100 * run['cpu_share_per_stream']:.3f}%", f"{run['dropped_s']:.2f}")
        console.print(table)
    voices = result.get("voices")
    if voices:
        console.print(f"Clone watch: {voices['streams']} streams x {voices['seconds']:g} s, fed as fast as taken: "
                      f"{voices['with_voices']['rtf_per_core']:.0f}x real time per core with {voices['voices']} "
                      f"voices enrolled, {voices['without']['rtf_per_core']:.0f}x without")
    alert = result.get("alert_latency")
    if alert:
        _alert_latency_table(console, alert)
    cascade = result.get("cascade")
    if cascade:
        table = Table(title=f"Cascade: verifier {cascade['verifier']} behind the filter, share of utterances gated "
                            "forced by the gate")
        for col in ("forced share", "gated (measured)", "RTF per core", "total µs per audio s",
                    "verifier µs per audio s", "queue full"):
            table.add_column(col, justify="right")
        for run in cascade["throughput"]:
            c = run["cascade"]
            table.add_row(f"{100 * run['forced_share']:.0f}%", f"{100 * c['gated_share']:.1f}%",
                          f"{run['rtf_per_core']:.0f}x", f"{sum(run['stage_us'].values()):.1f}",
                          f"{c['verifier_us_per_audio_s']:.1f}", str(c["queue_full"]))
        console.print(table)
        lat = cascade.get("latency")
        if lat:
            c = lat["cascade"]
            verdict = c["verdict_latency_ms"] or {"p50": math.nan, "p99": math.nan, "verdicts": 0}
            own = c["queue_and_score_ms"]
            console.print(f"verifier latency at {lat['streams']} real-time streams, "
                          f"{100 * c['gated_share']:.1f}% gated: utterance end read -> verifier verdict p50 "
                          f"{verdict['p50']:.1f} ms, p99 {verdict['p99']:.1f} ms ({verdict['verdicts']} verdicts); "
                          f"queue + scoring p50 {own['p50']} ms, p99 {own['p99']} ms; queue full {c['queue_full']}")
    q = result.get("int8")
    if q:
        table = Table(title=f"INT8 ({q['method']}) vs float")
        table.add_column("measure")
        table.add_column("float", justify="right")
        table.add_column("int8", justify="right")
        table.add_column("speed-up", justify="right")
        table.add_row("inference µs per window (batch 64)", f"{q['float_us_per_window']:.1f}",
                      f"{q['int8_us_per_window']:.1f}", f"{q['inference_speedup']:.2f}x")
        if q.get("int8_rtf_per_core"):
            table.add_row("pipeline RTF per core", f"{q['float_rtf_per_core']:.0f}x",
                          f"{q['int8_rtf_per_core']:.0f}x", f"{q['pipeline_speedup']:.2f}x")
        table.add_row("max |score change|, 256 random windows", "", f"{q['max_abs_score_change']:.4f}", "")
        if q.get("float_dev_eer") is not None and q.get("int8_dev_eer") is not None:
            f_eer, q_eer = q["float_dev_eer"], q["int8_dev_eer"]
            table.add_row("dev EER (model cards)", f"{100 * f_eer:.2f}%", f"{100 * q_eer:.2f}%",
                          f"{100 * (q_eer - f_eer):+.2f} points")
        console.print(table)
    rss = f"peak RSS: {result['peak_rss_mb']:.0f} MB"
    if tp:
        rss += f" ({tp['peak_rss_mb']:.0f} MB after the throughput runs, before the real-time and INT8 parts)"
    console.print(rss)


def _alert_latency_table(console, alert: dict[str, Any]) -> None:
    from rich.table import Table

    who = "the cascade" if alert["cascade"] else "the filter alone"
    table = Table(title=f"Alert latency from the onset of synthetic speech ({who}; {alert['trials']} concurrent "
                        f"real-time streams of {alert['seconds']:.1f} s; alerted {alert['alerted']})")
    for col in ("measure", "p50", "p95"):
        table.add_column(col, justify="right")
    for key, label in (("end_s", "alert span ends at (stream s)"), ("wall_s", "alert arrives after onset (wall s)"),
                       ("delay_s", "arrival after the span's end (s)")):
        figures = alert.get(key)
        if figures:
            table.add_row(label, f"{figures['p50']:.2f}", f"{figures['p95']:.2f}")
    console.print(table)
