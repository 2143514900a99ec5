//! One node of a cluster: an instance (or, locally, a process) running `lakeplane worker` on the
//! cluster's queue. The control plane records what it launched; the worker reports in on it; a
//! drain (an interruption notice, a scale-down) is asked for here and answered by the worker.

use serde::{Deserialize, Serialize};

/// Spot or on-demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Market {
    Spot,
    OnDemand,
}

impl Market {
    pub fn as_str(self) -> &'static str {
        match self {
            Market::Spot => "SPOT",
            Market::OnDemand => "ON_DEMAND",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeRole {
    Driver,
    Worker,
}

/// Why a node is asked to drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DrainReason {
    /// A spot interruption notice: stop claiming and hand every task back at once.
    Interrupted,
    /// The cluster shrinks: stop claiming and finish what runs.
    Decommission,
}

/// A node's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub cluster_id: String,
    /// The compute's id: an EC2 instance id, or a local process's name.
    pub node_id: String,
    pub role: NodeRole,
    /// The cluster generation it belongs to (a restart starts a new one).
    pub generation: u32,
    pub instance_type: String,
    pub market: Market,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// USD per hour, as launched (EC2's spot price, or the on-demand price).
    pub price_per_hour: f64,
    pub launched_at: i64,
    /// When its worker first reported in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<i64>,
    /// Its worker's latest report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_requested_at: Option<i64>,
    /// When its worker said it holds no more tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drained_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_cause: Option<String>,
}

impl Node {
    /// Whether the node counts towards the cluster's capacity (launched, not draining, not gone).
    pub fn is_capacity(&self) -> bool {
        self.terminated_at.is_none() && self.drain.is_none()
    }

    pub fn is_terminated(&self) -> bool {
        self.terminated_at.is_some()
    }

    /// Asks the node to drain; the first reason asked stays, except that an interruption
    /// overrides a decommission (it is more urgent). Whether anything changed.
    pub fn request_drain(&mut self, reason: DrainReason, now: i64) -> bool {
        if self.is_terminated() || self.drain == Some(reason) {
            return false;
        }
        if self.drain == Some(DrainReason::Interrupted) {
            return false;
        }
        self.drain = Some(reason);
        self.drain_requested_at.get_or_insert(now);
        true
    }

    /// Records the worker's report; whether this was its first.
    pub fn report(&mut self, now: i64) -> bool {
        self.last_seen = Some(now);
        if self.reported_at.is_none() {
            self.reported_at = Some(now);
            return true;
        }
        false
    }

    /// Marks the node gone.
    pub fn terminate(&mut self, now: i64, cause: impl Into<String>) {
        if self.terminated_at.is_none() {
            self.terminated_at = Some(now);
            self.termination_cause = Some(cause.into());
        }
    }

    /// Seconds it ran (until `now` while it runs).
    pub fn seconds(&self, now: i64) -> f64 {
        let end = self.terminated_at.unwrap_or(now);
        (end - self.launched_at).max(0) as f64 / 1000.0
    }

    /// What it cost so far, in USD.
    pub fn cost(&self, now: i64) -> f64 {
        self.seconds(now) / 3600.0 * self.price_per_hour
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        Node {
            cluster_id: "c".into(),
            node_id: "i-1".into(),
            role: NodeRole::Worker,
            generation: 0,
            instance_type: "m5.xlarge".into(),
            market: Market::Spot,
            zone: None,
            private_ip: None,
            price_per_hour: 0.36,
            launched_at: 0,
            reported_at: None,
            last_seen: None,
            drain: None,
            drain_requested_at: None,
            drained_at: None,
            terminated_at: None,
            termination_cause: None,
        }
    }

    #[test]
    fn an_interruption_overrides_a_decommission_and_not_the_other_way() {
        let mut n = node();
        assert!(n.request_drain(DrainReason::Decommission, 5));
        assert!(n.request_drain(DrainReason::Interrupted, 6));
        assert!(!n.request_drain(DrainReason::Decommission, 7));
        assert_eq!(n.drain, Some(DrainReason::Interrupted));
        assert_eq!(n.drain_requested_at, Some(5));
        assert!(!n.is_capacity());
    }

    #[test]
    fn cost_is_time_times_price() {
        let mut n = node();
        n.terminate(3_600_000, "done");
        assert!((n.cost(9_999_999) - 0.36).abs() < 1e-9);
        assert!(n.report(1));
        assert!(!n.report(2));
    }
}
