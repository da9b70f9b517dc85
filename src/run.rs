//! Builds the actor graph of a scenario and runs it in virtual time.

use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use crate::actors::audio::{AudioMonitor, AudioReport, DeviceActor, DeviceSupervisor, MixerActor};
use crate::actors::bus::BusInbox;
use crate::actors::experiment::ExperimentMonitor;
use crate::actors::recorder::EventRecord;
use crate::actors::service::{DepStats, ServiceInbox};
use crate::actors::{
    Autoscaler, BusReport, ChaosInjector, ConsumerMsg, Event, EventBus, FaultRecord, HealthChecker, HealthReport,
    LoadGenerator, Recorder, RootSupervisor, ScaleStats, ServiceActor, ServiceSupervisor, SimLab,
    supervisor::ChildStats,
};
use crate::arrivals::ArrivalClock;
use crate::metrics::{ClientMeter, ServiceMeter, ServiceMetrics};
use crate::scenario::chaos::{expand_all, with_spikes};
use crate::scenario::{Indicator, Scenario, ServiceId, ServiceKind, Target};
use crate::sim::{Ending, EngineStats, Lab, Limits, Node, NodeAddr, SimDuration, SimTime, stream};

/// Everything a simulated run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// The seed used.
    pub seed: u64,
    /// When the run ended.
    pub end: SimTime,
    /// Why it ended.
    pub ending: Ending,
    /// End-to-end (client side) figures.
    pub client: ClientMeter,
    /// Server-side figures per service, by id.
    pub services: Vec<ServiceMetrics>,
    /// Client-side figures of the calls to each service (by callee id), summed over its callers.
    pub calls_to: Vec<DepStats>,
    /// Requests refused by each service's ingress rate limiter, by id.
    pub rate_limited: Vec<u64>,
    /// Event buses (name, figures), in scenario order.
    pub buses: Vec<(String, BusReport)>,
    /// Every consumer group's lag per partition at each window's end (`bus.csv`).
    pub bus_rows: Vec<crate::model::rows::BusRow>,
    /// Crash and restart figures per service, by id.
    pub children: Vec<ChildStats>,
    /// Health check figures.
    pub health: HealthReport,
    /// Scaling figures per service, by id.
    pub scaling: Vec<ScaleStats>,
    /// Faults, in scenario order.
    pub faults: Vec<FaultRecord>,
    /// The audio path's figures, if there is a device.
    pub audio: Option<AudioReport>,
    /// Reopens of the device's stream and the time it was gone.
    pub device_restarts: (u64, SimDuration),
    /// The event log.
    pub events: Vec<EventRecord>,
    /// Burn-rate alerts that fired, per objective (scenario order).
    pub alerts: Vec<Vec<crate::slo::AlertSpan>>,
    /// Engine work counters.
    pub engine: EngineStats,
    /// Live mode: the real interface's figures.
    pub live: Option<crate::model::summary::LiveReport>,
    /// Live mode: the time spent in each audio callback [ns] (written as `dsp_time.hdr`).
    pub live_dsp_time: Option<hdrhistogram::Histogram<u64>>,
}

/// What a live run needs: the real clock, and the interface behind the device (if the scenario has one).
pub struct LiveSetup {
    /// The real time since the start of the run.
    pub clock: Box<dyn Fn() -> SimTime>,
    /// The interface.
    pub backend: Option<Box<dyn crate::actors::audio::backend::AudioBackend>>,
    /// Gauges for the metrics endpoint (`--metrics`), if served.
    pub gauges: Option<std::sync::Arc<crate::actors::gauges::Gauges>>,
}

/// The address of every actor of a run, to deliver the lab's events.
#[derive(Clone)]
struct Routes {
    services: Vec<ServiceAddr>,
    load: NodeAddr<LoadGenerator>,
    chaos: NodeAddr<ChaosInjector>,
    supervisor: NodeAddr<ServiceSupervisor>,
    root: NodeAddr<RootSupervisor>,
    recorder: NodeAddr<Recorder>,
    health: NodeAddr<HealthChecker>,
    autoscaler: NodeAddr<Autoscaler>,
    audio: Option<AudioAddrs>,
    experiment: NodeAddr<ExperimentMonitor>,
}

impl Routes {
    /// The request/response service `id` (only services get service and consumer messages).
    #[inline]
    fn service(&self, id: ServiceId) -> &NodeAddr<ServiceActor> {
        match &self.services[id.index()] {
            ServiceAddr::Service(a) => a,
            ServiceAddr::Bus(_) => unreachable!("invariant: service messages go to services"),
        }
    }

    #[inline]
    fn route(&self, ev: Event) {
        const NO_DEVICE: &str = "invariant: device messages exist only with a [device]";
        match ev {
            Event::Node(id, m) => match &self.services[id.index()] {
                ServiceAddr::Service(a) => a.deliver(ServiceInbox::Node(m)),
                ServiceAddr::Bus(a) => a.deliver(BusInbox::Node(m)),
            },
            Event::Service(id, m) => self.service(id).deliver(ServiceInbox::Own(m)),
            Event::Consumer(id, m) => self.service(id).deliver(ServiceInbox::Consumer(m)),
            Event::Bus(id, m) => match &self.services[id.index()] {
                ServiceAddr::Bus(a) => a.deliver(BusInbox::Own(m)),
                ServiceAddr::Service(_) => unreachable!("invariant: bus messages go to event buses"),
            },
            Event::Load(m) => self.load.deliver(m),
            Event::Chaos(m) => self.chaos.deliver(m),
            Event::Supervisor(m) => self.supervisor.deliver(m),
            Event::Root(m) => self.root.deliver(m),
            Event::Recorder(m) => self.recorder.deliver(m),
            Event::Health(m) => self.health.deliver(m),
            Event::Autoscale(m) => self.autoscaler.deliver(m),
            Event::Device(m) => self.audio.as_ref().expect(NO_DEVICE).device.deliver(m),
            Event::Mixer(m) => self.audio.as_ref().expect(NO_DEVICE).mixer.deliver(m),
            Event::Monitor(m) => self.audio.as_ref().expect(NO_DEVICE).monitor.deliver(m),
            Event::DeviceSup(m) => self.audio.as_ref().expect(NO_DEVICE).sup.deliver(m),
            Event::Experiment(m) => self.experiment.deliver(m),
        }
    }
}

/// The audio path's actors.
#[derive(Clone)]
struct AudioAddrs {
    device: NodeAddr<DeviceActor>,
    mixer: NodeAddr<MixerActor>,
    monitor: NodeAddr<AudioMonitor>,
    sup: NodeAddr<DeviceSupervisor>,
}

/// The address of a service actor: a request/response service or an event bus.
#[derive(Clone)]
enum ServiceAddr {
    Service(NodeAddr<ServiceActor>),
    Bus(NodeAddr<EventBus>),
}

/// Why a run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No message was handled for [`STALL_AFTER`] of wall time while some were in flight: an actor died
    /// outside the lab's control. A bug, never a property of the scenario.
    #[error(
        "internal error: the simulation stalled at {simulated_s:.6} simulated s with {in_flight} message(s) in flight (an actor stopped handling its messages); please report this with the scenario and seed"
    )]
    Stalled {
        /// Simulated time reached.
        simulated_s: f64,
        /// Messages sent but never handled.
        in_flight: usize,
    },
}

/// Wall time without a single handled message after which a run is declared stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(10);

/// A callback told the simulated time reached, now and then.
pub type Progress = Box<dyn FnMut(SimTime)>;

/// Runs `scenario` with `seed` in virtual time.
pub fn simulate(scenario: &Scenario, seed: u64, progress: Option<Progress>) -> Result<RunOutput, SimError> {
    simulate_with(scenario, seed, progress, None)
}

/// Runs `scenario` with `seed` in virtual time, recording what the computer captured to the WAV file
/// `record` (when there is a device).
pub fn simulate_with(
    scenario: &Scenario,
    seed: u64,
    progress: Option<Progress>,
    record: Option<PathBuf>,
) -> Result<RunOutput, SimError> {
    let scenario = scenario.clone();
    actix_rt::System::new().block_on(async move { run_graph(&scenario, seed, progress, record, None).await })
}

/// Runs `scenario` with `seed` in real time: the same actors, the lab following `live.clock`, and the
/// device (if any) backed by `live.backend`.
pub fn run_live(
    scenario: &Scenario,
    seed: u64,
    progress: Option<Progress>,
    live: LiveSetup,
) -> Result<RunOutput, SimError> {
    let mut scenario = scenario.clone();
    if let Some(d) = scenario.device.as_mut() {
        // The interface sends two channels (the AG06's TO PC stream): they take CH1's and CH2's place.
        d.inputs.truncate(2);
        d.live_capture = true;
    }
    actix_rt::System::new().block_on(async move { run_graph(&scenario, seed, progress, None, Some(live)).await })
}

/// Drives a live run: whenever the lab is idle until a future instant, sleeps (real time) until then.
/// Reports progress about four times a second.
async fn drive_live(lab: &Rc<SimLab>, mut progress: Option<Progress>) -> Ending {
    let mut last_progress = SimTime::ZERO;
    lab.resume();
    loop {
        match std::future::poll_fn(|cx| lab.poll_idle(cx)).await {
            crate::sim::Idle::Ended(ending) => return ending,
            crate::sim::Idle::Until(t) => {
                let wait = t.as_nanos().saturating_sub(lab.now().as_nanos());
                if let Some(p) = progress.as_mut()
                    && lab.now().as_nanos() >= last_progress.as_nanos() + 250_000_000
                {
                    last_progress = lab.now();
                    p(lab.now());
                }
                if wait > 0 {
                    // The lab re-checks the real clock and waits again if woken early. Ctrl-C ends the run
                    // where it is (the lab reads the flag of `crate::interrupt` when it resumes), at most
                    // 50 ms later; the results so far are still written.
                    actix_rt::time::sleep(Duration::from_nanos(wait.min(50_000_000))).await;
                }
                lab.resume();
            }
        }
    }
}

/// Waits for the end of the run, checking in real time that messages keep being handled. The check
/// reads the wall clock but never touches simulated state.
async fn watch(lab: &Rc<SimLab>) -> Result<Ending, SimError> {
    let mut finished = std::pin::pin!(lab.run());
    let mut tick = actix_rt::time::interval(STALL_AFTER);
    tick.tick().await;
    let mut last = lab.stats().messages;
    loop {
        let polled = std::future::poll_fn(|cx| {
            if let Poll::Ready(ending) = finished.as_mut().poll(cx) {
                return Poll::Ready(Some(ending));
            }
            match tick.poll_tick(cx) {
                Poll::Ready(_) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match polled {
            Some(ending) => return Ok(ending),
            None => {
                let now = lab.stats().messages;
                if now == last {
                    return Err(SimError::Stalled { simulated_s: lab.now().as_secs_f64(), in_flight: lab.in_flight() });
                }
                last = now;
            }
        }
    }
}

async fn run_graph(
    sc: &Scenario,
    seed: u64,
    progress: Option<Progress>,
    record: Option<PathBuf>,
    live: Option<LiveSetup>,
) -> Result<RunOutput, SimError> {
    let limits = Limits { work_until: SimTime::ZERO + sc.duration, stop_at: sc.stop_at() };
    let lab: Rc<SimLab> = Lab::new(limits);
    let (backend, live_progress, gauges) = match live {
        // Live: the lab follows the wall clock, and the progress is drawn by `drive_live`.
        Some(l) => {
            lab.set_pace(l.clock);
            (l.backend, progress, l.gauges)
        }
        None => {
            if let Some(p) = progress {
                lab.set_progress(p);
            }
            (None, None, None)
        }
    };

    let services = service_nodes(sc, seed, &lab);
    // This run's fault occurrences (seeded), and the arrival profile with its load spikes.
    let faults = expand_all(&sc.chaos, seed, limits.stop_at);
    let profile = with_spikes(&sc.load.profile, &faults);
    let clock = ArrivalClock::new(&profile, sc.load.arrivals, stream(seed, "load/arrivals"));
    let mut generator = LoadGenerator::new(sc, seed, clock);
    if let Some(g) = &gauges {
        generator = generator.with_gauges(g.clone());
    }
    generator.schedule(&lab);
    let load = Node::new(generator, lab.clone()).spawn();
    let injector = ChaosInjector::new(faults, sc);
    injector.schedule(&lab);
    let chaos = Node::new(injector, lab.clone()).spawn();
    let supervisor = Node::new(ServiceSupervisor::new(sc, seed), lab.clone()).spawn();
    let root =
        Node::new(RootSupervisor::new(sc.root_supervisor.clone(), seed, sc.device.is_some()), lab.clone()).spawn();
    let recorder = Node::new(Recorder::default(), lab.clone()).spawn();
    let checker = HealthChecker::new(sc);
    checker.schedule(&lab);
    let health = Node::new(checker, lab.clone()).spawn();
    let scaler = Autoscaler::new(sc);
    scaler.schedule(&lab);
    let autoscaler = Node::new(scaler, lab.clone()).spawn();
    let audio = audio_nodes(sc, seed, &lab, backend, gauges.as_ref(), record);

    let monitor = ExperimentMonitor::new(sc);
    monitor.schedule(&lab);
    let experiment = Node::new(monitor, lab.clone()).spawn();
    let routes = Routes { services, load, chaos, supervisor, root, recorder, health, autoscaler, audio, experiment };
    let actors = routes.clone();
    lab.set_router(move |ev| routes.route(ev));

    let ending = if lab.is_live() { drive_live(&lab, live_progress).await } else { watch(&lab).await? };
    let mut out = collect(sc, seed, &lab, ending, &actors).await;
    add_alerts(sc, &mut out);
    Ok(out)
}

/// Starts the actor of every service and event bus; consumers start consuming at zero.
fn service_nodes(sc: &Scenario, seed: u64, lab: &Rc<SimLab>) -> Vec<ServiceAddr> {
    // Latency thresholds each service must count exactly (for latency objectives).
    let thresholds = |i: usize| -> Vec<_> {
        sc.slos
            .iter()
            .filter(|s| s.target == Target::Service(ServiceId(i as u32)))
            .filter_map(|s| match s.indicator {
                Indicator::Latency { threshold } => Some(threshold),
                _ => None,
            })
            .collect()
    };

    let services: Vec<ServiceAddr> = sc
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut meter = ServiceMeter::new(sc.window, s.workers, thresholds(i));
            meter.reserve_until(sc.stop_at());
            if s.autoscale.as_ref().is_some_and(|a| a.metric == crate::resilience::ScaleMetric::Cpu) {
                meter = meter.track_cpu();
            }
            match s.kind {
                ServiceKind::Service => {
                    ServiceAddr::Service(Node::new(ServiceActor::new(sc, s.id, seed, meter), lab.clone()).spawn())
                }
                ServiceKind::EventBus { .. } => {
                    let bus = EventBus::new(sc, s.id, seed, meter);
                    bus.schedule(lab);
                    ServiceAddr::Bus(Node::new(bus, lab.clone()).spawn())
                }
            }
        })
        .collect();
    for s in sc.services.iter().filter(|s| s.consumes.is_some()) {
        lab.schedule(SimTime::ZERO, Event::Consumer(s.id, ConsumerMsg::Start));
    }
    services
}

/// Starts the audio path's actors, if the scenario has a device: on `backend` in live mode.
fn audio_nodes(
    sc: &Scenario,
    seed: u64,
    lab: &Rc<SimLab>,
    mut backend: Option<Box<dyn crate::actors::audio::backend::AudioBackend>>,
    gauges: Option<&std::sync::Arc<crate::actors::gauges::Gauges>>,
    record: Option<PathBuf>,
) -> Option<AudioAddrs> {
    sc.device.as_ref().map(|d| {
        let (done, back) = std::sync::mpsc::channel();
        let mut device = DeviceActor::new(sc, seed, back);
        if let Some(b) = backend.take() {
            device = device.with_backend(b, gauges.cloned());
        }
        device.schedule(lab);
        AudioAddrs {
            device: Node::new(device, lab.clone()).spawn(),
            mixer: Node::new(MixerActor, lab.clone()).spawn(),
            monitor: Node::new(AudioMonitor::new(d, sc.window, sc.stop_at(), record.clone(), done), lab.clone())
                .spawn(),
            sup: Node::new(DeviceSupervisor::new(sc, seed), lab.clone()).spawn(),
        }
    })
}

/// Every actor's report once the run is over, as the run's output (alerts still to add).
async fn collect(sc: &Scenario, seed: u64, lab: &SimLab, ending: Ending, a: &Routes) -> RunOutput {
    let end = lab.now();

    const GONE: &str = "invariant: actors live until the run is collected";
    let Collected { metrics: service_metrics, calls_to, rate_limited, buses, bus_rows } =
        collect_services(sc, &a.services).await;
    let client = a.load.finish().await.expect(GONE);
    let faults = a.chaos.finish().await.expect(GONE);
    let children = a.supervisor.finish().await.expect(GONE);
    let health = a.health.finish().await.expect(GONE);
    let scaling = a.autoscaler.finish().await.expect(GONE);
    let (live, live_dsp_time) = match &a.audio {
        Some(d) => match d.device.finish().await.expect(GONE) {
            Some(l) => (Some(l.report), Some(l.dsp_time)),
            None => (None, None),
        },
        None => (None, None),
    };
    let (audio, device_restarts) = match &a.audio {
        Some(d) => (Some(d.monitor.finish().await.expect(GONE)), d.sup.finish().await.expect(GONE)),
        None => (None, (0, SimDuration::ZERO)),
    };
    let events = a.recorder.finish().await.expect(GONE);
    RunOutput {
        seed,
        end,
        ending,
        client,
        services: service_metrics,
        calls_to,
        rate_limited,
        buses,
        bus_rows,
        children,
        health,
        scaling,
        faults,
        audio,
        device_restarts,
        events,
        alerts: Vec::new(),
        engine: lab.stats(),
        live,
        live_dsp_time,
    }
}

/// What the services and buses hand back after the run.
struct Collected {
    metrics: Vec<ServiceMetrics>,
    calls_to: Vec<DepStats>,
    rate_limited: Vec<u64>,
    buses: Vec<(String, crate::model::summary::BusReport)>,
    bus_rows: Vec<crate::model::rows::BusRow>,
}

/// Every service's report after the run: its metrics, the figures of calls to each service, the requests
/// its rate limiter refused, and the event buses' ledgers.
async fn collect_services(sc: &Scenario, services: &[ServiceAddr]) -> Collected {
    const GONE: &str = "invariant: actors live until the run is collected";
    let mut service_metrics = Vec::with_capacity(services.len());
    let mut calls_to = vec![DepStats::default(); services.len()];
    let mut rate_limited = Vec::with_capacity(services.len());
    let mut buses = Vec::new();
    let mut bus_rows = Vec::new();
    for (s, addr) in sc.services.iter().zip(services) {
        let report = match addr {
            ServiceAddr::Service(a) => a.finish().await.expect(GONE),
            ServiceAddr::Bus(a) => {
                let (report, bus, rows) = a.finish().await.expect(GONE);
                buses.push((s.name.clone(), bus));
                bus_rows.extend(rows);
                report
            }
        };
        for (callee, st) in report.deps {
            calls_to[callee.index()].add(&st);
        }
        rate_limited.push(report.rate_limited);
        service_metrics.push(report.metrics);
    }
    Collected { metrics: service_metrics, calls_to, rate_limited, buses, bus_rows }
}

/// The per-window series of objective `slo` in a run (`None` for indicators without one: xruns per hour,
/// max dropout).
pub fn series_of(sc: &Scenario, out: &RunOutput, slo: &crate::scenario::Slo) -> Option<crate::slo::Series> {
    use crate::scenario::{Indicator, Target};
    match (slo.target, slo.indicator) {
        (Target::Service(id), Indicator::Availability) => {
            let rows = &out.services[id.index()].rows;
            Some(crate::slo::Series {
                window: sc.window,
                good: rows.iter().map(|r| r.counts.ok).collect(),
                total: rows.iter().map(|r| r.counts.requests).collect(),
            })
        }
        (Target::Service(id), Indicator::Latency { threshold }) => {
            let m = &out.services[id.index()];
            let k = m.within.iter().position(|(t, _)| *t == threshold)?;
            Some(crate::slo::Series {
                window: sc.window,
                good: m.within_per_window(k).collect(),
                total: m.rows.iter().map(|r| r.counts.requests).collect(),
            })
        }
        (_, Indicator::AudioAvailability) => {
            let a = out.audio.as_ref()?;
            // The device-wide figures, on the first channel's rows.
            let rows = &a.windows;
            Some(crate::slo::Series {
                window: sc.window,
                good: rows.iter().map(|r| r.meter.blocks.saturating_sub(r.xruns)).collect(),
                total: rows.iter().map(|r| r.meter.blocks + r.missing).collect(),
            })
        }
        _ => None,
    }
}

/// Evaluates every objective's burn-rate alerts over the run and adds alert_fired / alert_resolved to
/// the event log.
fn add_alerts(sc: &Scenario, out: &mut RunOutput) {
    use crate::model::event::{AlertRuleFields, Event, EventRecord};
    for slo in &sc.slos {
        let spans = match series_of(sc, out, slo) {
            Some(s) => crate::slo::evaluate(&s, slo.objective, &slo.alerts, slo.history),
            None => Vec::new(),
        };
        for a in &spans {
            let rule = &slo.alerts[a.rule];
            let fields = AlertRuleFields {
                severity: rule.severity,
                long: rule.long,
                short: rule.short,
                burn_rate: rule.burn_rate,
            };
            out.events.push(EventRecord {
                t: a.fired,
                target: slo.name.clone(),
                event: Event::AlertFired { rule: fields.clone(), burn_rate_at_fire: a.burn_rate },
            });
            if let Some(r) = a.resolved {
                out.events.push(EventRecord {
                    t: r,
                    target: slo.name.clone(),
                    event: Event::AlertResolved { rule: fields },
                });
            }
        }
        out.alerts.push(spans);
    }
    out.events.sort_by_key(|e| e.t);
}
