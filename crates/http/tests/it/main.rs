//! The serve loop's client limits, against real sockets on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::time::{Duration, Instant};

use lakeplane_http::serve::{serve, ServeLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(limits: ServeLimits) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    addr
}

/// One request on a fresh connection; the answer's text.
async fn ping(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_at_the_header_deadline_and_free_their_slot() {
    let limits = ServeLimits {
        max_connections: 2,
        header_timeout: Duration::from_millis(600),
        ..ServeLimits::default()
    };
    let addr = start(limits).await;
    assert!(ping(addr).await.ends_with("pong"), "served while idle");

    // Two clients take both slots and send half a request line.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /pi").await.unwrap();
        holders.push(s);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), ping(addr))
        .await
        .expect("the third client is served once a silent one is closed");
    let waited = started.elapsed();
    assert!(answer.ends_with("pong"), "{answer}");
    assert!(
        waited >= Duration::from_millis(400),
        "the third client waited for a slot: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The holders were closed by the server.
    for mut s in holders {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("closed, not hanging")
            .unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || !text.contains("pong"), "{text}");
    }
}
