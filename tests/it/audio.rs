//! The audio path in the simulation: period timing, xruns against probability, and every device fault
//! changing the measured figures the way it should.

use ag06_lab::run::{RunOutput, simulate};
use ag06_lab::scenario::Scenario;

use super::common::scenario;

/// A device-only scenario (a trickle of load keeps the run alive) with `device` and `chaos` appended.
fn audio(duration: &str, device: &str, chaos: &str) -> String {
    format!(
        r#"
duration = "{duration}"
drain = "0s"
window = "1s"
[load]
entry = "s"
rate_per_s = 1.0
[[services]]
name = "s"
workers = 1
latency = {{ dist = "constant", value = "1ms" }}
[device]
sample_rate_hz = 48000
buffer_frames = 256
{device}
[device.inputs.ch1]
source = {{ kind = "sine", freq_hz = 440.0, level_dbfs = -12.0 }}
[device.inputs.ch2]
source = {{ kind = "sine", freq_hz = 997.0, level_dbfs = -6.0 }}
{chaos}
"#
    )
}

fn run(text: &str) -> (Scenario, RunOutput) {
    let sc = scenario(text);
    let out = simulate(&sc, 1, None).unwrap();
    (sc, out)
}

fn chan<'a>(out: &'a RunOutput, name: &str) -> &'a ag06_lab::dsp::meter::ChannelMeter {
    let a = out.audio.as_ref().unwrap();
    &a.meters[a.channels.iter().position(|c| c == name).unwrap()]
}

#[test]
fn periods_are_exactly_frames_over_rate_apart() {
    // 10 s at 256 / 48000 s per period: 1875 periods, the last starting at 9.994667 s.
    let (sc, out) = run(&audio("10s", "", ""));
    let a = out.audio.as_ref().unwrap();
    assert_eq!(a.periods, 1875);
    assert_eq!(a.xruns, 0);
    assert_eq!(sc.device.as_ref().unwrap().period().as_nanos(), 5_333_333);
    assert_eq!(sc.device.as_ref().unwrap().period_start(1875).as_nanos(), 10_000_000_000);
    // The inputs measure what they are: CH2 at -6 dBFS peak, -9.03 dBFS RMS.
    let ch2 = chan(&out, "ch2");
    assert!((ch2.peak_dbfs().unwrap() + 6.0).abs() < 0.05);
    assert!((ch2.rms_dbfs().unwrap() + 9.03).abs() < 0.05);
}

#[test]
fn xruns_follow_callback_semantics_with_random_processing_times() {
    // Processing time uniform on [2 ms, 8 ms], periods of 5.3333 ms. Callback semantics (JACK/ALSA): a
    // callback starts at a boundary, or at once when the previous one returned late; it must return by
    // the end of the period in progress; the boundaries that pass meanwhile are missing periods. The
    // expected figures come from an independent loop of exactly these rules with its own draws (not the
    // lab's actors or streams), over 10 million callbacks.
    let period = 256.0 / 48_000.0;
    let mut rng = ag06_lab::sim::stream(99, "oracle");
    // `n`: the period the callback starting at `t` produces (tracked as an index, so that an on-time
    // callback's successor is exactly the next period, whatever the float rounding of n x period).
    let (mut t, mut n, mut callbacks, mut xruns) = (0.0f64, 0u64, 0u64, 0u64);
    while callbacks < 10_000_000 {
        let deadline = (n + 1) as f64 * period;
        let end = t + rand::RngExt::random_range(&mut rng, 0.002..0.008);
        callbacks += 1;
        if end > deadline {
            xruns += 1;
            t = end;
            n = (end / period).floor() as u64;
        } else {
            t = deadline;
            n += 1;
        }
    }
    let (x_per_s, missing_per_s) = (xruns as f64 / t, (t / period - callbacks as f64) / t);
    let (_, out) = run(&audio("300s", r#"dsp_time = { dist = "uniform", min = "2ms", max = "8ms" }"#, ""));
    let a = out.audio.as_ref().unwrap();
    let secs = a.periods as f64 * period;
    let (x, m) = (a.xruns as f64 / secs, a.missing as f64 / secs);
    // Rates within 2% (the run has about 50000 callbacks).
    assert!((x / x_per_s - 1.0).abs() < 0.02, "xruns/s {x} vs {x_per_s}");
    assert!((m / missing_per_s - 1.0).abs() < 0.02, "missing/s {m} vs {missing_per_s}");
    // Mean DSP load: E[dsp] / period = 5 ms / 5.3333 ms.
    assert!((a.dsp_load_mean - 5.0 / (256.0 / 48.0)).abs() < 0.01, "{}", a.dsp_load_mean);
}

#[test]
fn a_callback_slower_than_its_period_is_one_xrun_and_the_boundaries_it_spans_are_missing() {
    // 13 ms callbacks at 5.3333 ms periods (DOMAIN, "Audio callbacks"): back to back, each one xrun, and
    // 13 / 5.3333 - 1 = 1.4375 periods missing per callback.
    let (_, out) = run(&audio("60s", r#"dsp_time = { dist = "constant", value = "13ms" }"#, ""));
    let a = out.audio.as_ref().unwrap();
    let callbacks = a.periods - a.missing;
    assert_eq!(a.xruns, callbacks, "every callback is late");
    assert!(
        (a.missing as f64 / callbacks as f64 - 1.4375).abs() < 0.002,
        "{} missing per callback",
        a.missing as f64 / callbacks as f64
    );
    // A 2 s stall of 12.8 ms on 200 us of processing: ~154 late callbacks and ~221 missing periods of the
    // 375 the 2 s hold.
    let (_, out) = run(&audio(
        "10s",
        "",
        "[[chaos]]\nfault = \"cpu-stall\"\ntarget = \"device\"\nat = \"4s\"\nfor = \"2s\"\nadd = \"12800us\"\n",
    ));
    let a = out.audio.as_ref().unwrap();
    assert!((152..=156).contains(&a.xruns), "{} xruns", a.xruns);
    assert!((218..=224).contains(&a.missing), "{} missing", a.missing);
}

#[test]
fn every_period_is_counted_in_the_window_it_starts_in() {
    // 13 ms callbacks at 256 / 48000 s periods: every delivered period is late and each is followed by the
    // periods its callback overran, missing. A window's row counts the periods that start in it (the
    // monitor dates a period by its start, whenever its block arrives): period n starts at n * 256 / 48000 s, so window w holds
    // ceil(187.5 (w + 1)) - ceil(187.5 w) of them, 188 and 187 by turns, late or missing alike. A late
    // period whose callback returns after the next window began still belongs to its own window.
    // The last window is left out: the callback in flight when the run ends is never delivered.
    let (_, out) = run(&audio("21s", r#"dsp_time = { dist = "constant", value = "13ms" }"#, ""));
    let a = out.audio.as_ref().unwrap();
    let rows = &a.windows;
    assert!(rows.len() >= 21, "{} windows", rows.len());
    for (w, r) in rows.iter().enumerate().take(20) {
        let starts = |w: u64| (w * 375).div_ceil(2);
        let expected = starts(w as u64 + 1) - starts(w as u64);
        assert_eq!(
            r.xruns + r.missing,
            expected,
            "window {w} at {} s: {} late + {} missing",
            r.t_s,
            r.xruns,
            r.missing
        );
    }
}

fn fault(kind: &str, params: &str) -> String {
    format!("[[chaos]]\nfault = \"{kind}\"\ntarget = \"device\"\nat = \"10s\"\nfor = \"10s\"\n{params}\n")
}

fn baseline() -> RunOutput {
    run(&audio("30s", "", "")).1
}

#[test]
fn cpu_stall_past_the_period_makes_every_callback_late() {
    let base = baseline();
    assert_eq!(base.audio.as_ref().unwrap().xruns, 0);
    // 200 us of processing + 6 ms of stall > 5.33 ms: every callback of the 10 s is late, back to back:
    // 10 s / 6.2 ms = 1613 of them, and the other 1875 - 1613 = 262 periods of the 10 s are missing.
    let (_, out) = run(&audio("30s", "", &fault("cpu-stall", "add = \"6ms\"")));
    let a = out.audio.as_ref().unwrap();
    assert!((1612..=1614).contains(&a.xruns), "{}", a.xruns);
    assert!((261..=263).contains(&a.missing), "{}", a.missing);
    assert_eq!(a.dropouts, 1);
    assert!((a.max_dropout_periods as f64 * a.period_s - 10.0).abs() < 0.02);
    // A stall that still fits in the period changes the load, not the xruns.
    let (_, out) = run(&audio("30s", "", &fault("cpu-stall", "add = \"4ms\"")));
    assert_eq!(out.audio.as_ref().unwrap().xruns, 0);
    assert!(out.audio.as_ref().unwrap().dsp_load_max > 0.78);
}

#[test]
fn xrun_storm_hits_its_rate_of_periods() {
    let (_, out) = run(&audio("30s", "", &fault("xrun-storm", "rate = 0.2")));
    let x = out.audio.as_ref().unwrap().xruns as f64;
    let sd = (1875.0f64 * 0.2 * 0.8).sqrt();
    assert!((x - 375.0).abs() < 5.0 * sd, "{x}");
}

#[test]
fn sample_rate_mismatch_slips_a_buffer_every_256_frames_of_difference() {
    // Host at 44.1 kHz, device at 48 kHz: 3900 frames/s of difference, one xrun per 256 of them:
    // 3900 / 256 = 15.23 xruns per second over the 10 s.
    let (_, out) = run(&audio("30s", "", &fault("sample-rate-mismatch", "host_rate_hz = 44100")));
    let x = out.audio.as_ref().unwrap().xruns as f64;
    assert!((x - 152.3).abs() <= 1.5, "{x}");
}

#[test]
fn clock_drift_slips_buffers_at_its_ppm() {
    // 1000 ppm fast: 48 extra frames per second; one buffer every 256/48 = 5.33 s: one xrun in 10 s.
    let text = audio(
        "300s",
        "",
        "[[chaos]]\nfault = \"clock-drift\"\ntarget = \"device\"\nat = \"10s\"\nfor = \"256s\"\nppm = 1000.0\n",
    );
    let (_, out) = run(&text);
    let a = out.audio.as_ref().unwrap();
    // 256 s x 48 frames/s = 12288 frames = 48 buffers.
    assert!((a.xruns as i64 - 48).abs() <= 1, "{}", a.xruns);
    // And the device's clock ran fast: a few more periods than nominal.
    assert!(a.periods > 300 * 48000 / 256);
}

#[test]
fn silence_makes_the_capture_bit_exact_zeros() {
    let base = baseline();
    assert_eq!(chan(&base, "out_l").zero_blocks, 0);
    let (_, out) = run(&audio("30s", "", &fault("silence", "")));
    assert_eq!(chan(&out, "out_l").zero_blocks, 1875);
    assert_eq!(chan(&out, "out_r").zero_blocks, 1875);
    // The inputs themselves are unaffected (the mixer still hears the singer).
    assert_eq!(chan(&out, "ch1").zero_blocks, 0);
}

#[test]
fn clipping_gain_drives_the_converters_into_clipping() {
    assert_eq!(chan(&baseline(), "ch2").clipped, 0);
    // +12 dB on a -6 dBFS sine: 2x full scale. A sine at amplitude 2 is above 1 for 2/3 of its samples.
    let (_, out) = run(&audio("30s", "", &fault("clipping", "gain_db = 12.0")));
    let ch2 = chan(&out, "ch2");
    let clipped_share = ch2.clipped as f64 / (1875.0 * 256.0);
    assert!((clipped_share - 2.0 / 3.0).abs() < 0.01, "{clipped_share}");
    assert!((ch2.peak_dbfs().unwrap()).abs() < 1e-6, "the converter saturates at 0 dBFS");
}

#[test]
fn a_disconnect_is_missing_periods_until_the_supervisor_reopens_the_stream() {
    let (sc, out) = run(&audio("30s", "", &fault("device-disconnect", "")));
    let a = out.audio.as_ref().unwrap();
    assert_eq!(a.missing, 1875);
    assert_eq!(a.dropouts, 1);
    assert_eq!(out.device_restarts.0, 1);
    assert_eq!(out.device_restarts.1.as_secs_f64(), 10.0);
    // Recovered at the first period after the reopen at 20 s.
    let rec = out.faults[0].recovered.unwrap().as_secs_f64() - 10.0;
    assert!((10.0..10.01).contains(&rec), "{rec}");
    let kinds: Vec<&str> = out.events.iter().map(|e| e.event.kind().name()).collect();
    assert!(kinds.contains(&"actor_crash") && kinds.contains(&"actor_restart"));
    let s = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    assert_eq!(s.audio.as_ref().unwrap().max_dropout_ms.round(), 10_000.0);
}

#[test]
fn audio_objectives() {
    let text = audio(
        "60s",
        "",
        &format!(
            "{}\n{}",
            fault("device-disconnect", ""),
            r#"
[[slo]]
name = "on time"
service = "device"
sli = "audio-availability"
objective = 0.8
[[slo]]
name = "xruns"
service = "device"
sli = "xruns-per-hour"
objective = 0.0
[[slo]]
name = "dropout"
service = "device"
sli = "max-dropout"
threshold = "5s"
"#
        ),
    );
    let (sc, out) = run(&text);
    let s = ag06_lab::report::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
    let by = |n: &str| s.slos.iter().find(|x| x.name == n).unwrap();
    // 10 s missing of 60 s: 5/6 on time.
    assert!((by("on time").achieved.unwrap() - 50.0 / 60.0).abs() < 1e-3);
    assert!(by("on time").met);
    assert!(by("xruns").met, "missing periods are not xruns");
    assert!(!by("dropout").met, "a 10 s dropout exceeds 5 s");
    assert!((by("dropout").achieved.unwrap() - 10_000.0).abs() < 6.0);
}

#[test]
fn recording_writes_what_the_computer_captured() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("a.toml");
    std::fs::write(&sc, audio("2s", "to_pc = \"dry-ch12\"", "")).unwrap();
    let wav = tmp.path().join("take.wav");
    let o = super::common::run_bin(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        tmp.path().join("r").to_str().unwrap(),
        "--quiet",
        "--record",
        wav.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = hound::WavReader::open(&wav).unwrap();
    assert_eq!(r.spec().sample_rate, 48000);
    assert_eq!(r.spec().channels, 2);
    let samples: Vec<f32> = r.into_samples::<f32>().map(|s| s.unwrap()).collect();
    assert_eq!(samples.len(), 375 * 256 * 2);
    // DRY CH1-2: left is CH1 (-12 dBFS sine), right CH2 (-6 dBFS).
    let peak = |k: usize| samples.iter().skip(k).step_by(2).fold(0f32, |m, s| m.max(s.abs()));
    assert!((20.0 * f64::from(peak(0)).log10() + 12.0).abs() < 0.05);
    assert!((20.0 * f64::from(peak(1)).log10() + 6.0).abs() < 0.05);
    assert!(!tmp.path().join("take.wav.partial").exists());
    let csv = std::fs::read_to_string(tmp.path().join("r/audio.csv")).unwrap();
    assert!(csv.starts_with("t_s,channel,peak_dbfs,rms_dbfs,clipped,xruns,dsp_load"));
}

#[test]
fn block_size_does_not_change_a_bit_of_the_captured_audio() {
    // Through the actors and the whole vocal chain (loopback with ducking and a noisy voice on CH1):
    // recorded at 64 and at 1024 frames per period, the captured audio is bit-identical.
    let tmp = tempfile::tempdir().unwrap();
    let record = |frames: u32| {
        let text = audio(
            "20s",
            "to_pc = \"loopback\"\nducking_db = -5.0\nplayback = { kind = \"sine\", freq_hz = 330.0, level_dbfs = -20.0 }",
            "",
        )
        .replace("buffer_frames = 256", &format!("buffer_frames = {frames}"))
        .replace(r#"source = { kind = "sine", freq_hz = 440.0, level_dbfs = -12.0 }"#, r#"source = { kind = "noise", level_dbfs = -10.0 }"#);
        let sc = scenario(&text);
        let wav = tmp.path().join(format!("{frames}.wav"));
        let out = ag06_lab::run::simulate_with(&sc, 3, None, Some(wav.clone())).unwrap();
        assert_eq!(out.audio.as_ref().unwrap().xruns, 0);
        hound::WavReader::open(&wav).unwrap().into_samples::<f32>().map(|s| s.unwrap().to_bits()).collect::<Vec<u32>>()
    };
    let (small, large) = (record(64), record(1024));
    // 20 s: 15000 periods of 64 frames; 937 of 1024 (the 938th would end past the run).
    assert_eq!(small.len(), 960_000 * 2);
    assert_eq!(large.len(), 937 * 1024 * 2);
    assert!(large == small[..large.len()], "the captured audio differs between block sizes");
    assert!(small.iter().any(|b| *b != 0));
}

#[test]
fn a_wav_source_plays_its_samples() {
    // take-48000.wav: a 480 Hz sine at 16384/32768 = -6.02 dBFS, 16-bit, looped.
    let text = audio("5s", "to_pc = \"dry-ch12\"", "").replace(
        r#"source = { kind = "sine", freq_hz = 440.0, level_dbfs = -12.0 }"#,
        r#"source = { kind = "wav", path = "tests/fixtures/take-48000.wav" }"#,
    );
    let sc = Scenario::from_toml(&text, super::common::root().join("x.toml").to_str().unwrap(), "x").unwrap();
    let out = simulate(&sc, 1, None).unwrap();
    let peak = chan(&out, "ch1").peak_dbfs().unwrap();
    assert!((peak - 20.0 * 0.5f64.log10()).abs() < 0.01, "{peak}");
    assert!((chan(&out, "out_l").peak_dbfs().unwrap() - peak).abs() < 1e-9, "dry: CH1 straight to the left");
}

#[test]
fn ch1_is_metered_at_its_converter_and_clips_there() {
    // The AG06's converters clip before any DSP. A 0 dBFS sine on CH1 with +6 dB of input gain is at
    // amplitude 2: at the converter it reaches full scale whenever |sin| >= 1/2, 2/3 of the samples, and
    // its peak is 0 dBFS; the vocal chain's limiter (-1 dBFS) comes after and must not hide it.
    let text = audio("10s", "", "").replace(
        r#"[device.inputs.ch1]
source = { kind = "sine", freq_hz = 440.0, level_dbfs = -12.0 }"#,
        r#"[device.inputs.ch1]
gain_db = 6.0
source = { kind = "sine", freq_hz = 440.0, level_dbfs = 0.0 }"#,
    );
    let (_, out) = run(&text);
    let ch1 = chan(&out, "ch1");
    let share = ch1.clipped as f64 / (1875.0 * 256.0);
    assert!((share - 2.0 / 3.0).abs() < 0.01, "{share}");
    assert!(ch1.peak_dbfs().unwrap().abs() < 1e-6, "{:?}", ch1.peak_dbfs());
}

#[test]
fn the_usb_stream_is_clamped_at_full_scale_and_each_clipped_sample_counts_once() {
    // Two sines at -1 dBFS panned centre into INPUT MIX add up past full scale on the bus: the stream the
    // computer captures is fixed-point, so it is clamped, and those samples are counted on out_l/out_r.
    let hot = audio("5s", "", "")
        .replace("level_dbfs = -12.0", "level_dbfs = -1.0")
        .replace("freq_hz = 997.0, level_dbfs = -6.0", "freq_hz = 440.0, level_dbfs = -1.0");
    let (_, out) = run(&hot);
    let (l, r) = (chan(&out, "out_l"), chan(&out, "out_r"));
    assert!(l.peak <= 1.0 && r.peak <= 1.0, "captured beyond full scale: {} {}", l.peak, r.peak);
    assert!(l.clipped > 0 && r.clipped > 0, "the bus clipped: {} {}", l.clipped, r.clipped);
    assert_eq!(chan(&out, "ch1").clipped + chan(&out, "ch2").clipped, 0, "the converters did not");
    let a = out.audio.as_ref().unwrap();
    assert_eq!(a.meters.iter().map(|m| m.clipped).sum::<u64>(), l.clipped + r.clipped);
    // DRY CH 1-2: CH2 clipped at its converter goes straight to the right side: one clip, not two.
    let dry_text = audio("30s", "to_pc = \"dry-ch12\"", &fault("clipping", "gain_db = 12.0"));
    let (_, dry) = run(&dry_text);
    let ch2 = chan(&dry, "ch2").clipped;
    assert!(ch2 > 0);
    assert_eq!(chan(&dry, "out_r").clipped, 0, "already within full scale: not clipped again");
    let summary =
        ag06_lab::report::Summary::new(&scenario(&dry_text), &dry, ag06_lab::model::summary::Mode::Simulated, 0.0);
    let a = summary.audio.as_ref().unwrap();
    assert_eq!(a.clipped_samples, chan(&dry, "ch1").clipped + ch2);
}

#[test]
fn no_period_is_processed_past_the_end_of_the_run() {
    // 1 s at 256 / 48000 s: 187.5 periods fit; the 188th would end at 1.0027 s, after the run.
    let (_, out) = run(&audio("1s", "", ""));
    let a = out.audio.as_ref().unwrap();
    assert_eq!(a.periods, 187);
    assert_eq!(chan(&out, "ch2").samples, 187 * 256);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]
    /// Whatever the levels and gains, what the computer captures never exceeds full scale.
    #[test]
    fn the_captured_stream_never_exceeds_full_scale(
        l1 in -20.0f64..0.0, l2 in -20.0f64..0.0, g in 0.0f64..12.0, mode in 0usize..3,
    ) {
        let to_pc = ["dry-ch12", "input-mix", "loopback"][mode];
        let text = audio("1s", &format!("to_pc = \"{to_pc}\"\nplayback = {{ kind = \"sine\", freq_hz = 220.0, level_dbfs = -1.0 }}"), "")
            .replace("level_dbfs = -12.0", &format!("level_dbfs = {l1}"))
            .replace("level_dbfs = -6.0", &format!("level_dbfs = {l2}"))
            .replace("[device.inputs.ch2]", &format!("[device.inputs.ch2]\ngain_db = {g}"));
        let (_, out) = run(&text);
        proptest::prop_assert!(chan(&out, "out_l").peak <= 1.0 && chan(&out, "out_r").peak <= 1.0);
    }
}

/// A run on its own does the audio path's sample work (mixer, meters, loudness) on a lane thread beside
/// the lab's; a run in a pool of runs (a sweep's) does it on the lab's thread. The lane does the same
/// steps in the same order either way, so every figure is the same bits: the summary (with a hypothesis
/// probing the device during the run, which waits for the lane) and audio.csv, through xruns, a USB
/// disconnect and captured silence.
#[test]
fn the_audio_lane_gives_the_same_bytes_on_its_own_thread_and_on_the_labs() {
    let device = r#"to_pc = "loopback"
playback = { kind = "sine", freq_hz = 220.0, level_dbfs = -18.0 }
ducking_db = -6.0
[device.inputs.ch3]
source = { kind = "noise", level_dbfs = -20.0 }"#;
    let chaos = r#"[experiment]
baseline = "3s"
recovery = "3s"
settle = "1s"
[[hypothesis]]
name = "audio on time"
service = "device"
metric = "audio_availability"
min = 0.99
[[chaos]]
fault = "xrun-storm"
target = "device"
at = "4s"
for = "2s"
rate = 0.3
[[chaos]]
fault = "device-disconnect"
target = "device"
at = "8s"
for = "500ms"
[[chaos]]
fault = "silence"
target = "device"
at = "10s"
for = "1s"
"#;
    let sc = super::common::scenario(&audio("14s", device, chaos));
    let bytes = |out: RunOutput| {
        let mut out = out;
        let csv = out.audio.as_mut().unwrap().csv.take().unwrap().finish().unwrap();
        let csv = match csv {
            ag06_lab::model::rows::Spool::Bytes(b) => b,
            ag06_lab::model::rows::Spool::File(mut f) => {
                use std::io::{Read, Seek};
                let mut b = Vec::new();
                f.rewind().unwrap();
                f.read_to_end(&mut b).unwrap();
                b
            }
        };
        let summary = ag06_lab::model::summary::Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Simulated, 0.0);
        (String::from_utf8(summary.to_json()).unwrap(), String::from_utf8(csv).unwrap())
    };
    let beside = bytes(simulate(&sc, 3, None).unwrap());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let inline = bytes(pool.install(|| simulate(&sc, 3, None)).unwrap());
    assert!(beside.0.contains("\"xruns\""), "the summary has the audio figures");
    assert!(beside.0.contains("\"deviated\""), "the hypothesis saw the faults: {}", beside.0);
    assert!(beside.1.lines().count() > 14 * 5, "audio.csv has a row per window per channel");
    assert_eq!(beside.0, inline.0);
    assert_eq!(beside.1, inline.1);
}
