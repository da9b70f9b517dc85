//! `--metrics ADDR`: a Prometheus text endpoint for live runs (`GET /metrics`), served from a thread of
//! its own. The actors update atomics ([`Gauges`]); the server only reads them.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::actors::gauges::Gauges;

impl Gauges {
    /// The Prometheus text exposition of the gauges.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut t = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, String)]| {
            t.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in lines {
                t.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        let one = |v: String| vec![(String::new(), v)];
        metric(
            "ag06_lab_time_seconds",
            "gauge",
            "Time since the start of the run.",
            &one(format!("{:.3}", g(&self.now_ns) as f64 / 1e9)),
        );
        metric(
            "ag06_callbacks_total",
            "counter",
            "Output callbacks of the audio interface.",
            &one(g(&self.callbacks).to_string()),
        );
        metric(
            "ag06_xruns_total",
            "counter",
            "Callbacks more than 1.5 periods late, or xruns the host reported.",
            &one(g(&self.xruns).to_string()),
        );
        metric("ag06_missing_periods_total", "counter", "Periods never played.", &one(g(&self.missing).to_string()));
        metric(
            "ag06_input_underruns_total",
            "counter",
            "Callbacks short of captured input.",
            &one(g(&self.underruns).to_string()),
        );
        metric(
            "ag06_dsp_load",
            "gauge",
            "Time in the last callback / period.",
            &one(format!("{:.6}", g(&self.dsp_load_ppm) as f64 / 1e6)),
        );
        metric(
            "ag06_dsp_load_max",
            "gauge",
            "Highest time in a callback / period so far.",
            &one(format!("{:.6}", g(&self.dsp_load_max_ppm) as f64 / 1e6)),
        );
        let outcomes = ["ok", "failed", "timed_out", "rejected"];
        let lines: Vec<(String, String)> = outcomes
            .iter()
            .zip(&self.requests)
            .map(|(o, a)| (format!("{{outcome=\"{o}\"}}"), g(a).to_string()))
            .collect();
        metric("ag06_requests_total", "counter", "End-to-end requests by outcome.", &lines);
        t
    }
}

/// Binds `addr` and serves the gauges on a background thread until the process ends. Returns the bound
/// address (port 0 picks a free one).
pub fn serve(addr: SocketAddr, gauges: Arc<Gauges>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new().name("ag06-metrics".into()).spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = if path == "/metrics" || path == "/" {
                ("200 OK", gauges.render())
            } else {
                ("404 Not Found", "not found: the metrics are at /metrics\n".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    })?;
    Ok(bound)
}
