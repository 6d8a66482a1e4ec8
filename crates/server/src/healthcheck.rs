//! `gatehouse healthcheck`: one `GET /health/live` to a local process, so that a container
//! image needs no curl (the runtime image has nothing but the binary).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;

/// Succeeds when the process listening on `addr` answers `/health/live` with 200 within
/// `timeout`. A wildcard bind address (`0.0.0.0`, `::`) is reached on loopback.
pub fn probe(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let target = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    };
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .with_context(|| format!("nothing answers on {target}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /health/live HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )?;
    // "HTTP/1.1 200 OK": the status is the second word of the first line.
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .with_context(|| format!("no answer from {target}"))?;
    let status = String::from_utf8_lossy(&head[9..12]).into_owned();
    anyhow::ensure!(status == "200", "{target}/health/live answered {status}");
    Ok(())
}
