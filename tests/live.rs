//! Live mode against a real (hardware-free) interface: JACK's dummy backend, paced like a sound card.
//! CI starts it (`.ci/run`): `jackd --no-realtime -d dummy -r 48000 -p 256`, reached through the ALSA
//! `jack` device (libasound2-plugins). Another interface: set AG06_LIVE_DEVICE.
//!
//! Run with `cargo test --release --features live --test live -- --test-threads=1`.

#![cfg(feature = "live")]
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ag06_lab::live::engine::in_callback;
use ag06_lab::report::Summary;
use ag06_lab::scenario::Scenario;

/// Counts every allocation made inside an audio callback (on the real cpal callback threads).
struct Counting;

static IN_CALLBACK_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; counting reads a const thread-local and bumps an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if in_callback() {
            IN_CALLBACK_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if in_callback() {
            IN_CALLBACK_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if in_callback() {
            IN_CALLBACK_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Xruns the dummy backend shows without any fault, at most (a share of the callbacks). Its timer is a
/// plain sleep and this is a 2-core VM with neighbours: 0–2% of callbacks come more than 1.5 periods
/// late now and then. A cpu-stall beyond the period makes every callback late (~100%).
const BACKGROUND: f64 = 0.05;

fn device() -> String {
    std::env::var("AG06_LIVE_DEVICE").unwrap_or_else(|_| "jack".into())
}

const BASE: &str = include_str!("fixtures/live.toml");

fn live(text: &str) -> (Scenario, ag06_lab::run::RunOutput, Summary) {
    let sc = Scenario::from_toml(text, "live.toml", "live").unwrap();
    let setup = ag06_lab::live::setup(&sc, 1, Some(&device())).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let out = ag06_lab::run::run_live(&sc, 1, None, setup).unwrap();
    let s = Summary::new(&sc, &out, ag06_lab::model::summary::Mode::Live, started.elapsed().as_secs_f64());
    (sc, out, s)
}

fn bin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ag06-lab")).args(args).output().unwrap()
}

#[test]
fn a_five_second_live_run_sees_every_callback_without_allocating_or_xruns() {
    let before = IN_CALLBACK_ALLOCATIONS.load(Ordering::Relaxed);
    let (sc, out, s) = live(BASE);
    let allocations = IN_CALLBACK_ALLOCATIONS.load(Ordering::Relaxed) - before;
    let l = s.live.as_ref().expect("a live section");
    // 48000 / 256 callbacks a second for 5 s (the run ends when the arrivals do).
    let expected = 48_000.0 / 256.0 * sc.duration.as_secs_f64();
    assert!((l.callbacks as f64 - expected).abs() <= 0.1 * expected, "{} callbacks, expected {expected}", l.callbacks);
    assert_eq!(allocations, 0, "allocations inside the audio callbacks");
    // Without a fault, late callbacks stay within the dummy backend's BACKGROUND.
    assert!(l.xruns as f64 <= BACKGROUND * l.callbacks as f64, "xruns without a fault: {l:?}");
    assert!((l.callback_interval_ms.p50 - 5.333).abs() < 0.5, "{l:?}");
    assert_eq!(s.mode, ag06_lab::model::summary::Mode::Live);
    // The services ran beside it, in real time.
    assert!(out.client.counts.requests > 150, "{:?}", out.client.counts);
    let a = s.audio.as_ref().unwrap();
    // Every callback is a period of audio.csv; late ones add the periods they skipped, as missing.
    assert_eq!(a.periods, l.callbacks + a.missing);
}

#[test]
fn a_cpu_stall_longer_than_the_period_makes_xruns_and_only_then() {
    let text = format!(
        "{}\n[[chaos]]\nname = \"stall\"\nfault = \"cpu-stall\"\ntarget = \"device\"\nat = \"2.5s\"\nfor = \"2s\"\nadd = \"12ms\"\n",
        BASE.replace("duration = \"5s\"", "duration = \"7s\"")
    );
    let (_, out, s) = live(&text);
    let a = out.audio.as_ref().unwrap();
    // Windows of 1 s: the stall covers [2.5, 4.5).
    let xruns = |from: f64, to: f64| -> u64 {
        a.rows.iter().filter(|r| r.channel == 0 && r.t_s >= from && r.t_s < to).map(|r| r.xruns).sum()
    };
    // 12 ms per callback: every callback of the stall is late by more than 1.5 periods (~160 of them).
    assert!(xruns(2.0, 5.0) > 100, "{} xruns during the stall", xruns(2.0, 5.0));
    let quiet =
        a.rows.iter().filter(|r| r.channel == 0 && (r.t_s < 2.0 || r.t_s >= 5.0)).map(|r| r.meter.blocks).sum::<u64>();
    assert!(
        xruns(0.0, 2.0) + xruns(5.0, 10.0) <= (BACKGROUND * quiet as f64).ceil() as u64,
        "before and after the stall"
    );
    assert!(s.live.as_ref().unwrap().dsp_load.max > 2.0, "the stall shows in the DSP load");
}

#[test]
fn a_cpu_stall_shorter_than_the_period_makes_no_xruns() {
    // 2 ms of busy-waiting in every callback of a 5.33 ms period: late never, only a heavier DSP load.
    let text = format!(
        "{BASE}\n[[chaos]]\nname = \"light stall\"\nfault = \"cpu-stall\"\ntarget = \"device\"\nat = \"1s\"\nfor = \"3s\"\nadd = \"2ms\"\n"
    );
    let (_, _, s) = live(&text);
    let l = s.live.as_ref().unwrap();
    assert!(l.xruns as f64 <= BACKGROUND * l.callbacks as f64, "{l:?}");
    // The stall shows in the load: 2 / 5.33 = 0.375 of the period, in over half of the callbacks, and stays
    // under the period in 99% of them (the single worst callback is the OS's: the callback thread is not
    // real-time on a CI machine, so one preemption can stretch one callback past the period).
    assert!(l.dsp_load.p99 > 0.35 && l.dsp_load.p99 < 1.0, "{:?}", l.dsp_load);
}

#[test]
fn a_disconnect_drops_the_stream_and_the_supervisor_reopens_it() {
    let text = format!(
        "{BASE}\n[[chaos]]\nname = \"cable\"\nfault = \"device-disconnect\"\ntarget = \"device\"\nat = \"2s\"\nfor = \"1s\"\n"
    );
    let (_, out, s) = live(&text);
    let a = s.audio.as_ref().unwrap();
    assert_eq!(a.restarts, 1);
    // Gone for 1 s: ~187 periods missing.
    assert!((a.missing as f64 - 187.5).abs() < 40.0, "{} missing", a.missing);
    let f = &s.faults[0];
    let r = f.recovered_after_s.expect("recovered");
    assert!((1.0..1.6).contains(&r), "recovered after {r} s");
    assert!(out.events.iter().any(|e| e.event.kind().name() == "actor_restart" && e.target == "device"));
}

#[test]
fn preflight_flags_the_dummy_backends_zeros_as_silent_input() {
    let o = bin(&["preflight", "--device", &device(), "--listen", "1s", "--xrun-window", "2s"]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{table}");
    let line = table.lines().find(|l| l.starts_with("input not silent")).unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("FAIL") && line.contains("bit-exact zero"), "{line}");
    let device_line = table.lines().find(|l| l.starts_with("device")).unwrap();
    assert!(device_line.contains(" ok "), "{device_line}");
    // The xrun check counted the callbacks of its window (whether a non-realtime jackd had a late one
    // in it is not this test's business).
    let xruns = table.lines().find(|l| l.starts_with("xruns")).unwrap();
    let counted: f64 =
        xruns.split(" xruns in ").nth(1).and_then(|x| x.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    assert!((counted - 375.0).abs() < 40.0, "{xruns}");
}

#[test]
fn clear_errors_for_a_missing_device_and_unsupported_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, BASE).unwrap();
    let out = dir.path().join("out");
    let run = |args: &[&str]| {
        let mut a = vec!["run", scenario.to_str().unwrap(), "--live", "--out", out.to_str().unwrap()];
        a.extend_from_slice(args);
        bin(&a)
    };
    let o = run(&["--device", "no-such-interface"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no audio device matches \"no-such-interface\"") && err.contains("alsa:jack"), "{err}");
    assert!(!out.exists(), "nothing written");
    std::fs::write(&scenario, BASE.replace("sample_rate_hz = 48000", "sample_rate_hz = 44100")).unwrap();
    let o = run(&["--device", &device()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("does not support input at 44100 Hz") && err.contains("48000 Hz"), "{err}");
    std::fs::write(&scenario, BASE.replace("buffer_frames = 256", "buffer_frames = 64")).unwrap();
    let o = run(&["--device", &device()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("buffers of 64 frames") && err.contains("buffer 256.."), "{err}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn the_metrics_endpoint_serves_prometheus_text_while_the_run_lasts() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, BASE).unwrap();
    // A free loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ag06-lab"))
        .args(["run", scenario.to_str().unwrap(), "--live", "--device", &device(), "--quiet", "--metrics", &addr])
        .arg("--out")
        .arg(dir.path().join("out"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut s = std::net::TcpStream::connect(&addr).expect("the endpoint listens");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    let value = |name: &str| -> f64 {
        let line = body.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}: {body}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    // About 3 s in: ~560 callbacks so far, and requests answered.
    let callbacks = value("ag06_callbacks_total ");
    assert!((300.0..800.0).contains(&callbacks), "{callbacks}");
    assert!(value("ag06_requests_total{outcome=\"ok\"}") > 50.0, "{body}");
    assert!(body.contains("# TYPE ag06_xruns_total counter"));
    assert!(child.wait().unwrap().success());
}
