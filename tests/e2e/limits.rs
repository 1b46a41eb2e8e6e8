//! Finding #10.6: connections that send nothing, trickle headers or stall a body held the
//! server forever, and 1,100 idle ones exhausted its file descriptors. Each is now cut off
//! by a configured limit; past `max_connections` clients wait instead of taking descriptors.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use rolegate::config::Config;
use rolegate::server::Server;

/// A server with one-second header timeout, two-second request timeout and three
/// connections at most; its address.
async fn limited_server() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = crate::support::config_folder(
        "listen = \"127.0.0.1:0\"\n\n[limits]\nheader_read_timeout_seconds = 1\n\
         request_timeout_seconds = 2\nmax_connections = 3\n",
    );
    let config = Config::load(&dir.path().join("rolegate.toml"), &|_| None).unwrap();
    let server = Server::start(config).await.unwrap();
    let address = server.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    (address, stop, dir)
}

/// Reads until the server closes the connection; what it sent. Fails after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the server kept the connection open past {limit:?}"
    );
    String::from_utf8_lossy(&received).into_owned()
}

async fn get_health(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0_u8; 1024];
    let n = stream.read(&mut buffer).await.unwrap();
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_after_the_header_timeout() {
    let (address, _stop, _dir) = limited_server().await;
    let mut silent = TcpStream::connect(&address).await.unwrap();
    read_until_closed(&mut silent, Duration::from_secs(4)).await;
    let mut kept_alive = TcpStream::connect(&address).await.unwrap();
    assert!(
        get_health(&mut kept_alive)
            .await
            .starts_with("HTTP/1.1 200")
    );
    let started = Instant::now();
    read_until_closed(&mut kept_alive, Duration::from_secs(4)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed too early"
    );
}

#[tokio::test]
async fn trickled_headers_are_cut_off() {
    let (address, _stop, _dir) = limited_server().await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if stream.write_all(b"x").await.is_err() {
            closed = true;
            break;
        }
        let mut byte = [0_u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut byte)).await
        {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a client trickling header bytes kept its connection"
    );
}

#[tokio::test]
async fn a_stalled_body_ends_with_408() {
    let (address, _stop, _dir) = limited_server().await;
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /logout HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
              content-length: 100\r\n\r\ncsrf=",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn past_the_connection_cap_clients_wait_and_are_served_once_slots_free() {
    let (address, _stop, _dir) = limited_server().await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut waiting = TcpStream::connect(&address).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0_u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(400), waiting.read(&mut buffer)).await;
    assert!(
        early.is_err(),
        "a fourth connection was served past the cap of three"
    );
    // The idle ones are closed by the header timeout; then the fourth is served.
    let answer = read_until_closed(&mut waiting, Duration::from_secs(4)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(idle);
}
