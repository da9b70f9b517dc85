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

/// A producer at 100/s into a 4-partition bus, consumed by the group "billing" of `members` services
/// (`assignment`, session timeout 10 s, 1 s windows), with `extra` appended (faults, settings).
fn group_scenario(members: usize, assignment: &str, extra: &str) -> String {
    let mut s = String::from(
        r#"
duration = "60s"
drain = "120s"
window = "1s"
[load]
entry = "gateway"
arrivals = "constant"
rate_per_s = 100.0
[[services]]
name = "gateway"
workers = 32
latency = { dist = "constant", value = "1ms" }
calls = ["events"]
[[services]]
name = "events"
kind = "event-bus"
partitions = 4
latency = { dist = "constant", value = "1ms" }
[supervision.services]
intensity = 1000
period = "1s"
"#,
    );
    for m in 0..members {
        s.push_str(&format!(
            "[[services]]\nname = \"billing-{m}\"\nworkers = 4\nlatency = {{ dist = \"constant\", value = \"5ms\" }}\nconsumes = {{ bus = \"events\", group = \"billing\", commit_interval = \"700ms\", assignment = \"{assignment}\", session_timeout = \"10s\" }}\n"
        ));
    }
    s.push_str(extra);
    s
}

fn kill(target: &str, at_s: f64, for_s: f64) -> String {
    format!(
        "[[chaos]]\nfault = \"kill\"\ntarget = \"{target}\"\nat = \"{}ms\"\nfor = \"{}ms\"\n",
        (at_s * 1e3) as u64,
        (for_s * 1e3) as u64
    )
}

/// Requests each member processed (server side).
fn processed_by(out: &ag06_lab::run::RunOutput, members: usize) -> Vec<u64> {
    (0..members).map(|m| out.services[2 + m].counts.requests).collect()
}

#[test]
fn the_group_divides_the_partitions_among_its_members_as_kafkas_assignors() {
    // Kafka's RangeAssignor: 4 partitions over 2 members, [0, 1] and [2, 3]; RoundRobinAssignor: [0, 2] and
    // [1, 3]. Without faults every message is processed once, by the owner of its partition.
    for (assignment, a, b) in [("range", [0, 1], [2, 3]), ("round-robin", [0, 2], [1, 3])] {
        let sc = scenario(&group_scenario(2, assignment, ""));
        let out = simulate(&sc, 1, None).unwrap();
        let bus = &out.buses[0].1;
        let parts = &bus.partitions;
        let g = &bus.groups[0];
        assert_eq!((g.consumed, g.redelivered, g.lost, g.pending), (bus.produced, 0, 0, 0), "{assignment}: {g:?}");
        assert_eq!(g.members, ["billing-0", "billing-1"]);
        assert_eq!(
            processed_by(&out, 2),
            [parts[a[0]] + parts[a[1]], parts[b[0]] + parts[b[1]]],
            "{assignment}: {parts:?}"
        );
        assert_eq!(g.rebalances, 1, "both members joined at 0 s: one rebalance");
    }
}

#[test]
fn a_crashed_member_leaves_after_its_session_timeout_and_its_partitions_move() {
    // billing-1 is killed at 20 s for 30 s. It stops heartbeating (every 3 s): the coordinator removes it
    // 10 s (the session timeout) after its last heartbeat, between 27 and 30 s, and billing-0 takes all
    // four partitions from their committed offsets: what billing-1 processed since its last commit is
    // processed again, nothing is lost. At 50 s billing-1 is back and rejoins: another rebalance.
    let sc = scenario(&group_scenario(2, "range", &kill("billing-1", 20.0, 30.0)));
    let out = simulate(&sc, 1, None).unwrap();
    let rebalances: Vec<(f64, String)> = out
        .events
        .iter()
        .filter(|e| e.event.kind().name() == "rebalance")
        .map(|e| (e.t.as_secs_f64(), e.event.detail(&e.target)))
        .collect();
    let timeout = rebalances.iter().find(|r| r.1.contains("billing-1 session-timeout")).expect("{rebalances:?}");
    assert!((27.0..=30.0).contains(&timeout.0), "{rebalances:?}");
    assert!(rebalances.iter().any(|r| r.0 == 50.0 && r.1.contains("billing-1 joined")), "{rebalances:?}");
    let g = &out.buses[0].1.groups[0];
    assert_eq!((g.lost, g.pending), (0, 0), "{g:?}");
    assert_eq!(g.consumed, out.buses[0].1.produced);
    assert_eq!(g.rebalances, 3, "join, session timeout, rejoin");
    // While billing-1 is gone, until it is removed and the rebalance completes (3 s later), its partitions
    // are not consumed: each one's lag grows by its 25/s for 10 to 13 s, from its last commit (at most
    // 0.7 s earlier): 250 to 343.
    assert!((250..=343).contains(&g.max_lag), "max lag {}", g.max_lag);
}

#[test]
fn eager_rebalances_pause_every_member_and_cooperative_ones_only_the_moved_partitions() {
    // billing-1 joins late (it is stopped from 0 to 30 s, then starts): a rebalance at 30 s that
    // completes one heartbeat (3 s) later. Eager (range): billing-0's partitions are all revoked at 30 s,
    // so it processes nothing but what it had in flight until 33 s. Cooperative-sticky: billing-0 keeps
    // two partitions and goes on processing them.
    let stop = "[[chaos]]\nfault = \"stop\"\ntarget = \"billing-1\"\nat = \"0s\"\nfor = \"30s\"\n";
    let during = |assignment: &str| {
        let out = simulate(&scenario(&group_scenario(2, assignment, stop)), 1, None).unwrap();
        let g = out.buses[0].1.groups[0].clone();
        assert_eq!((g.lost, g.pending), (0, 0), "{assignment}: {g:?}");
        let rows = &out.services[2].rows;
        let n: u64 = rows.iter().filter(|r| r.t_s >= 31.0 && r.t_s < 33.0).map(|r| r.counts.requests).sum();
        n
    };
    let eager = during("range");
    let cooperative = during("cooperative-sticky");
    assert_eq!(eager, 0, "eager: billing-0 paused");
    // Two kept partitions at 50/s for 2 s.
    assert!((80..=120).contains(&cooperative), "cooperative: {cooperative}");
}

#[test]
fn a_message_that_keeps_failing_goes_to_the_dead_letter_bus() {
    // Processing fails with probability 0.3; after 3 failures a message goes to the dead-letter bus:
    // 0.3^3 = 2.7% of the messages. Without a dead-letter bus such a message blocks its partition.
    let dlq = "[[services]]\nname = \"dlq\"\nkind = \"event-bus\"\npartitions = 1\nlatency = { dist = \"constant\", value = \"1ms\" }\n";
    let text = group_scenario(1, "range", dlq)
        .replace("value = \"5ms\" }\nconsumes", "value = \"5ms\" }\nerror_rate = 0.3\nconsumes")
        .replace("session_timeout = \"10s\" }", "session_timeout = \"10s\", max_attempts = 3, dead_letter = \"dlq\" }");
    let out = simulate(&scenario(&text), 1, None).unwrap();
    let (events, dlq_bus) = (&out.buses[0].1, &out.buses[1].1);
    let g = &events.groups[0];
    let n = events.produced as f64;
    let sd = (n * 0.027 * 0.973).sqrt();
    assert!((g.dead_lettered as f64 - n * 0.027).abs() < 5.0 * sd, "{g:?}");
    assert_eq!(dlq_bus.produced, g.dead_lettered, "every dead-lettered message is on the dead-letter bus");
    assert_eq!((g.lost, g.pending), (0, 0));
    assert_eq!(g.consumed + g.dead_lettered, events.produced);
    // Without it: the first message that fails 3 times... is retried forever, and its partition waits.
    let blocked = text.replace(", max_attempts = 3, dead_letter = \"dlq\"", "");
    let out = simulate(&scenario(&blocked), 1, None).unwrap();
    let g = &out.buses[0].1.groups[0];
    assert_eq!(g.dead_lettered, 0);
    assert_eq!((g.lost, g.consumed + g.pending), (0, out.buses[0].1.produced));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
    /// At least once, whatever the crashes of members and of the bus, with rebalances (members removed by
    /// their session timeout and rejoining, every assignor): nothing is lost, and everything is consumed
    /// within the drain.
    #[test]
    fn nothing_is_lost_across_crashes_and_rebalances(
        members in 1usize..=3,
        assignor in 0usize..3,
        kills in proptest::collection::vec((0usize..4, 1.0f64..55.0, 0.05f64..25.0), 1..6),
    ) {
        let assignment = ["range", "round-robin", "cooperative-sticky"][assignor];
        let mut faults = String::new();
        for (t, at, down) in &kills {
            let target = if *t < members { format!("billing-{t}") } else { "events".to_string() };
            faults.push_str(&kill(&target, *at, *down));
        }
        let out = simulate(&scenario(&group_scenario(members, assignment, &faults)), 7, None).unwrap();
        let bus = &out.buses[0].1;
        let g = &bus.groups[0];
        proptest::prop_assert_eq!(g.lost, 0, "{:?} {:?}", kills, g);
        proptest::prop_assert_eq!(g.pending, 0, "{:?} {:?}", kills, g);
        proptest::prop_assert_eq!(g.consumed, bus.produced);
    }
}
