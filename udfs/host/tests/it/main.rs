//! The UDF runtime against real guests: the example UDFs built for wasm32 (Rust with the guest
//! SDK, and C), and the hostile fixtures in `udfs/fixtures/hostile`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod examples;
mod guests;
mod hostile;
