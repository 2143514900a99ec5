//! Adapters of the compute port ([`lakeplane_core::cluster::compute::Compute`]):
//!
//! - [`local::LocalProcesses`]: a node is a `lakeplane worker` child process serving its cluster's
//!   queue (what `lakeplane dev` uses);
//! - [`ec2::Ec2Compute`] (feature `ec2`): a node is an EC2 instance launched from the stack's
//!   launch template, its user data ([`boot`]) installing and starting the worker.
//!
//! [`faults::Faulty`] wraps either to inject capacity errors (spot has none to give on moto).

pub mod boot;
#[cfg(feature = "ec2")]
pub mod ec2;
pub mod faults;
pub mod local;

pub use lakeplane_core::cluster::compute::{Compute, ComputeError, Launch, Launched, Observed};
