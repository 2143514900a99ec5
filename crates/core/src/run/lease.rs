//! A worker's lease on a running task, and the rules that judge it across hosts.

use serde::{Deserialize, Serialize};

/// How much later than a lease's expiry (by the holder's clock) another host may take the task over.
/// Safe while hosts' clocks differ by less than this: the holder stops by its own deadline, which is
/// at or before `expires_at` on its clock, so at or before `expires_at + MAX_CLOCK_SKEW_MS` on any
/// other host's. NTP-synchronised hosts (Amazon Time Sync) stay within milliseconds.
pub const MAX_CLOCK_SKEW_MS: i64 = 1_000;

/// How many times a task may lose its worker (its lease expires without a heartbeat) before it ends
/// FAILED instead of running again, unless the control plane is configured otherwise: a task that
/// kills every worker it runs on (a query that exhausts the machine's memory) must not take the
/// fleet down one worker at a time.
pub const MAX_LEASE_LOSSES: u32 = 3;

/// A worker's hold on a running task, made fresh by each claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Unique to this claim: every write the holder makes is fenced by it. (Empty in leases stored
    /// before claims had tokens; no worker holds such a token, so they can only expire.)
    #[serde(default)]
    pub token: String,
    /// The worker, for logs and `runs/get`.
    pub owner: String,
    /// Epoch milliseconds, by the holder's clock, after which it no longer counts on the lease.
    pub expires_at: i64,
}
