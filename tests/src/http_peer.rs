//! Raw HTTP peers for what the scripts of [`crate::peer`] cannot express:
//! several connections in turn (a redirect back to the same server), a
//! body that never ends, and a TLS ClientHello read whole before a clean
//! close (a close in the middle of the handshake, not a reset).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A server on 127.0.0.1:0 handing its connections, in turn, to a closure.
pub struct RawPeer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl RawPeer {
    /// Accepts `connections` connections one after the other, each served by
    /// `serve(number from 0, stream, where read_head records)`; then the
    /// listener closes (later connections are refused).
    pub fn spawn<F>(connections: usize, mut serve: F) -> RawPeer
    where
        F: FnMut(usize, TcpStream, &Mutex<Vec<String>>) + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&heads);
        let handle = std::thread::spawn(move || {
            for i in 0..connections {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                serve(i, stream, &log);
            }
        });
        RawPeer {
            port,
            heads,
            handle: Some(handle),
        }
    }

    /// Waits for every connection to be served; returns the recorded heads.
    pub fn finish(mut self) -> Vec<String> {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.heads.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Reads a request head up to its empty line (at most 64 KiB) and records
/// it in `log` as text; `None` when the client left first.
pub fn read_head(stream: &mut TcpStream, log: &Mutex<Vec<String>>) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    if let Ok(mut l) = log.lock() {
        l.push(text.clone());
    }
    Some(text)
}

/// Writes `bytes`; false once the client is gone.
pub fn write(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream.write_all(bytes).and_then(|_| stream.flush()).is_ok()
}

/// A chunked 200 whose body never ends: chunks of `size` bytes, `pause`
/// between them, until the client leaves.
pub fn endless_chunks(mut stream: TcpStream, size: usize, pause: Duration) {
    if !write(
        &mut stream,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
    ) {
        return;
    }
    let mut chunk = format!("{size:x}\r\n").into_bytes();
    chunk.extend(vec![b'y'; size]);
    chunk.extend_from_slice(b"\r\n");
    while write(&mut stream, &chunk) {
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

/// Reads what the client sends until it has been quiet for `quiet` (a TLS
/// ClientHello, whole), then closes cleanly: a FIN, not a reset.
pub fn read_then_close(mut stream: TcpStream, quiet: Duration) {
    let _ = stream.set_read_timeout(Some(quiet));
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Let the client see the FIN before the socket goes.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}
