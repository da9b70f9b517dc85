//! Kafka's partition assignors, as pure functions: which member of a consumer group owns which partition.
//! Members are given in their sorted order (Kafka sorts member ids; the lab sorts by scenario order), and
//! the result has one owner index per partition.

pub(super) use crate::model::summary::Assignor;

/// Assigns `partitions` partitions to `members` members (at least one) by `strategy`; `owners` are the
/// current owners (for the sticky assignor; `None`: unowned or owned by a member that left).
pub(crate) fn assign(strategy: Assignor, partitions: u32, members: usize, owners: &[Option<usize>]) -> Vec<usize> {
    match strategy {
        Assignor::Range => range(partitions, members),
        Assignor::RoundRobin => (0..partitions as usize).map(|p| p % members).collect(),
        Assignor::CooperativeSticky => sticky(partitions, members, owners),
    }
}

/// Kafka's `RangeAssignor` for one topic: consecutive ranges, the first `P mod M` members one more.
fn range(partitions: u32, members: usize) -> Vec<usize> {
    let (p, m) = (partitions as usize, members);
    let (each, extra) = (p / m, p % m);
    let mut out = Vec::with_capacity(p);
    for member in 0..m {
        let n = each + usize::from(member < extra);
        out.extend(std::iter::repeat_n(member, n));
    }
    out
}

/// A balanced assignment (member counts differ by at most one) that keeps as many current owners as
/// possible: the goal of Kafka's `CooperativeStickyAssignor`. Members that own more get the larger
/// quotas; each keeps its lowest partitions up to its quota; the rest go, lowest first, to the member
/// with the most room (ties: the first).
fn sticky(partitions: u32, members: usize, owners: &[Option<usize>]) -> Vec<usize> {
    let p = partitions as usize;
    let owned = |m: usize| owners.iter().filter(|o| **o == Some(m)).count();
    let (each, extra) = (p / members, p % members);
    let mut by_owned: Vec<usize> = (0..members).collect();
    by_owned.sort_by_key(|m| (std::cmp::Reverse(owned(*m)), *m));
    let mut quota = vec![each; members];
    for m in by_owned.into_iter().take(extra) {
        quota[m] += 1;
    }
    let mut out: Vec<Option<usize>> = vec![None; p];
    let mut count = vec![0usize; members];
    for (part, owner) in owners.iter().enumerate().take(p) {
        if let Some(m) = *owner
            && m < members
            && count[m] < quota[m]
        {
            out[part] = Some(m);
            count[m] += 1;
        }
    }
    for slot in out.iter_mut().filter(|o| o.is_none()) {
        let m =
            (0..members).max_by_key(|m| (quota[*m] - count[*m], std::cmp::Reverse(*m))).expect("invariant: a member");
        *slot = Some(m);
        count[m] += 1;
    }
    out.into_iter().map(|o| o.expect("invariant: every partition assigned")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Partitions of each member, as Kafka's tests write them.
    fn by_member(a: &[usize], members: usize) -> Vec<Vec<u32>> {
        (0..members).map(|m| (0..a.len() as u32).filter(|p| a[*p as usize] == m).collect()).collect()
    }

    #[test]
    fn range_as_kafka_range_assignor_test() {
        // RangeAssignorTest.testOneConsumerMultipleTopics / testTwoConsumersOneTopicThreePartitions: 3
        // partitions over 2 consumers: [0, 1] and [2].
        assert_eq!(by_member(&assign(Assignor::Range, 3, 2, &[]), 2), [vec![0, 1], vec![2]]);
        // testMultipleConsumersMixedTopics-like: 7 over 3: 3, 2, 2 consecutive.
        assert_eq!(by_member(&assign(Assignor::Range, 7, 3, &[]), 3), [vec![0, 1, 2], vec![3, 4], vec![5, 6]]);
        // More consumers than partitions: the last ones get nothing.
        assert_eq!(by_member(&assign(Assignor::Range, 2, 3, &[]), 3), [vec![0], vec![1], vec![]]);
    }

    #[test]
    fn round_robin_as_kafka_round_robin_assignor_test() {
        // RoundRobinAssignorTest.testTwoConsumersOneTopicThreePartitions: [0, 2] and [1].
        assert_eq!(by_member(&assign(Assignor::RoundRobin, 3, 2, &[]), 2), [vec![0, 2], vec![1]]);
    }

    #[test]
    fn sticky_keeps_owners_and_balances() {
        // 6 partitions on 2 members (0: 0-2, 1: 3-5); member 2 joins: each keeps 2, the newcomer gets 2.
        let owners = [Some(0), Some(0), Some(0), Some(1), Some(1), Some(1)];
        let a = assign(Assignor::CooperativeSticky, 6, 3, &owners);
        assert_eq!(by_member(&a, 3), [vec![0, 1], vec![3, 4], vec![2, 5]]);
        let moved = a.iter().zip(&owners).filter(|(n, o)| Some(**n) != **o).count();
        assert_eq!(moved, 2, "only what the newcomer needs moves");
        // Member 1 leaves (its partitions unowned): member 0 keeps its three and takes the others.
        let owners = [Some(0), Some(0), Some(0), None, None, None];
        assert_eq!(by_member(&assign(Assignor::CooperativeSticky, 6, 1, &owners), 1), [vec![0, 1, 2, 3, 4, 5]]);
        // Balanced whatever the history: counts differ by at most one.
        let owners = [Some(2), Some(2), Some(2), Some(2), Some(2), None, None];
        let a = assign(Assignor::CooperativeSticky, 7, 3, &owners);
        let counts: Vec<usize> = by_member(&a, 3).iter().map(Vec::len).collect();
        assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{counts:?}");
        assert_eq!(a.iter().filter(|m| **m == 2).count(), 3, "the big owner keeps its quota of 3");
    }
}
