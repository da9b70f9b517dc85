//! The event bus: nothing is lost across crashes of the consumer and of the bus itself (at least once),
//! redeliveries happen, and the ledger does detect losses (at most once loses messages).

use ag06_lab::run::simulate;
use rand::RngExt;

use super::common::scenario;

/// A producer (gateway) and a consumer (billing) around a 4-partition bus, with `kills` faults.
fn bus_scenario(kills: &[(&str, f64, f64)], delivery: &str) -> String {
    let mut s = format!(
        r#"
duration = "30s"
drain = "60s"
[load]
entry = "gateway"
rate_per_s = 100.0
[[services]]
name = "gateway"
workers = 32
latency = {{ dist = "exponential", mean = "2ms" }}
calls = ["events"]
[[services]]
name = "events"
kind = "event-bus"
partitions = 4
latency = {{ dist = "constant", value = "1ms" }}
[[services]]
name = "billing"
workers = 4
latency = {{ dist = "exponential", mean = "5ms" }}
consumes = {{ bus = "events", commit_interval = "700ms", delivery = "{delivery}" }}
[supervision.services]
intensity = 1000
period = "1s"
"#
    );
    for (target, at, down) in kills {
        s.push_str(&format!(
            "[[chaos]]\nfault = \"kill\"\ntarget = \"{target}\"\nat = \"{}ms\"\nfor = \"{}ms\"\n",
            (at * 1e3) as u64,
            (down * 1e3) as u64
        ));
    }
    s
}

/// 100 seeded crash schedules: 1 to 6 kills of the consumer or the bus at random times.
fn schedules() -> Vec<Vec<(&'static str, f64, f64)>> {
    let mut rng = ag06_lab::sim::stream(2024, "bus-test");
    (0..100)
        .map(|_| {
            let n = rng.random_range(1..=6);
            (0..n)
                .map(|_| {
                    let target = if rng.random_bool(0.7) { "billing" } else { "events" };
                    (target, rng.random_range(1.0..29.0), rng.random_range(0.05..3.0))
                })
                .collect()
        })
        .collect()
}

#[test]
fn at_least_once_loses_nothing_across_100_crash_schedules() {
    let mut redelivered_runs = 0;
    for (i, kills) in schedules().iter().enumerate() {
        let sc = scenario(&bus_scenario(kills, "at-least-once"));
        let out = simulate(&sc, i as u64, None).unwrap();
        let (_, bus) = &out.buses[0];
        let g = &bus.groups[0];
        assert_eq!(g.lost, 0, "schedule {i} {kills:?}: {g:?}");
        assert_eq!(g.pending, 0, "schedule {i}: everything is consumed within the drain: {g:?}");
        assert_eq!(g.consumed, bus.produced, "schedule {i}");
        // Every acknowledged produce is in the log.
        assert_eq!(out.services[1].counts.ok, bus.produced, "schedule {i}");
        if g.redelivered > 0 {
            redelivered_runs += 1;
        }
    }
    // Consumer crashes between commits cause redeliveries in most schedules.
    assert!(redelivered_runs > 50, "{redelivered_runs} of 100 runs redelivered");
}

#[test]
fn at_most_once_does_lose_messages_and_the_ledger_sees_it() {
    let kills: Vec<(&str, f64, f64)> = (1..20).map(|s| ("billing", f64::from(s) * 1.37, 0.2)).collect();
    let sc = scenario(&bus_scenario(&kills, "at-most-once"));
    let out = simulate(&sc, 1, None).unwrap();
    let g = &out.buses[0].1.groups[0];
    assert!(g.lost > 0, "{g:?}");
    assert_eq!(g.redelivered, 0, "committed on receipt: nothing is replayed");
    assert_eq!(g.consumed + g.lost + g.pending, out.buses[0].1.produced);
}

#[test]
fn partitions_are_chosen_by_a_stable_hash() {
    let sc = scenario(&bus_scenario(&[], "at-least-once"));
    let a = simulate(&sc, 5, None).unwrap();
    let b = simulate(&sc, 5, None).unwrap();
    assert_eq!(a.buses[0].1.partitions, b.buses[0].1.partitions);
    // Spread over the 4 partitions: each gets 25% +- 5 sd of a binomial.
    let parts = &a.buses[0].1.partitions;
    let n: u64 = parts.iter().sum();
    let sd = (n as f64 * 0.25 * 0.75).sqrt();
    for p in parts {
        assert!((*p as f64 - n as f64 / 4.0).abs() < 5.0 * sd, "{parts:?}");
    }
}
