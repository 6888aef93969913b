//! Scripted servers on 127.0.0.1:0 for hostile-peer and protocol tests: each
//! plays a list of steps (send, receive a line, stall, drip, upgrade to TLS,
//! close) against the plugin's one connection and records what it received.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::{ServerConnection, StreamOwned};

use crate::pki::Leaf;

/// One step of a script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Read one line from the client (recorded without its line end).
    Recv,
    /// Read lines until one starts with this text (recording all).
    RecvUntil(String),
    /// Read lines until one is exactly this text (recording all), e.g. the
    /// `.` that ends SMTP DATA.
    RecvUntilLine(String),
    /// Do nothing for a while.
    Sleep(Duration),
    /// Write these bytes one at a time, pausing between them.
    Drip(Vec<u8>, Duration),
    /// Start TLS as the server (after a STARTTLS reply).
    StartTls,
    /// Close the connection now.
    Close,
    /// Keep the connection open without a word until the client leaves.
    Hang,
}

/// `Step::Send` of a text.
pub fn send(text: &str) -> Step {
    Step::Send(text.as_bytes().to_vec())
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A running scripted server.
pub struct Peer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    received: Arc<Mutex<Vec<String>>>,
    /// The server name of the last handshake; `None` until one completed.
    sni: Arc<Mutex<Option<Option<String>>>>,
    handle: Option<JoinHandle<()>>,
}

impl Peer {
    /// A plain-TCP server playing `steps`.
    pub fn spawn(steps: Vec<Step>) -> Peer {
        Peer::start(steps, None, false)
    }

    /// A server whose `StartTls` steps (and, with `implicit`, the start of the
    /// connection) present `leaf`.
    pub fn spawn_tls(leaf: &Leaf, implicit: bool, steps: Vec<Step>) -> Peer {
        Peer::start(steps, Some(leaf.clone()), implicit)
    }

    fn start(steps: Vec<Step>, leaf: Option<Leaf>, implicit: bool) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let sni = Arc::new(Mutex::new(None));
        let sni_seen = Arc::clone(&sni);
        let handle = std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            let mut conn = Conn::Plain(stream);
            if implicit {
                match upgrade(conn, leaf.as_ref(), &sni_seen) {
                    Some(c) => conn = c,
                    None => return,
                }
            }
            play(conn, &steps, leaf.as_ref(), &log, &sni_seen);
        });
        Peer {
            port,
            received,
            sni,
            handle: Some(handle),
        }
    }

    /// The lines the client sent so far.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The server name the client sent in its TLS handshake (SNI), if any.
    /// The client may be gone before this thread has read its last
    /// handshake message, so this waits (up to 5 s) for the handshake to end
    /// here, or for the script to end without one.
    pub fn sni(&self) -> Option<String> {
        let start = std::time::Instant::now();
        loop {
            let seen = self.sni.lock().ok().and_then(|s| s.clone());
            let ended = self.handle.as_ref().is_none_or(|h| h.is_finished());
            match seen {
                Some(name) => return name,
                None if ended || start.elapsed() > Duration::from_secs(5) => return None,
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// Waits for the script to end and returns what the client sent.
    pub fn finish(mut self) -> Vec<String> {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.received()
    }
}

fn upgrade(conn: Conn, leaf: Option<&Leaf>, sni: &Mutex<Option<Option<String>>>) -> Option<Conn> {
    let Conn::Plain(tcp) = conn else {
        return Some(conn);
    };
    let config = leaf
        .expect("a TLS step needs a certificate")
        .server_config();
    let server = ServerConnection::new(config).ok()?;
    let mut tls = StreamOwned::new(server, tcp);
    // Drive the handshake now, so a client that rejects it ends the script.
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return None;
        }
    }
    if let Ok(mut seen) = sni.lock() {
        *seen = Some(tls.conn.server_name().map(str::to_string));
    }
    Some(Conn::Tls(Box::new(tls)))
}

fn read_line(conn: &mut Conn) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match conn.read(&mut byte) {
            Ok(0) | Err(_) => return None,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

fn play(
    mut conn: Conn,
    steps: &[Step],
    leaf: Option<&Leaf>,
    log: &Mutex<Vec<String>>,
    sni: &Mutex<Option<Option<String>>>,
) {
    let record = |line: String| {
        if let Ok(mut l) = log.lock() {
            l.push(line);
        }
    };
    for step in steps {
        match step {
            Step::Send(bytes) => {
                if conn.write_all(bytes).and_then(|_| conn.flush()).is_err() {
                    return;
                }
            }
            Step::Recv => match read_line(&mut conn) {
                Some(line) => record(line),
                None => return,
            },
            Step::RecvUntil(prefix) => loop {
                match read_line(&mut conn) {
                    Some(line) => {
                        let done = line.starts_with(prefix.as_str());
                        record(line);
                        if done {
                            break;
                        }
                    }
                    None => return,
                }
            },
            Step::RecvUntilLine(end) => loop {
                match read_line(&mut conn) {
                    Some(line) => {
                        let done = line == *end;
                        record(line);
                        if done {
                            break;
                        }
                    }
                    None => return,
                }
            },
            Step::Sleep(d) => std::thread::sleep(*d),
            Step::Drip(bytes, pause) => {
                for b in bytes {
                    if conn.write_all(&[*b]).and_then(|_| conn.flush()).is_err() {
                        return;
                    }
                    std::thread::sleep(*pause);
                }
            }
            Step::StartTls => match upgrade(conn, leaf, sni) {
                Some(c) => conn = c,
                None => return,
            },
            Step::Close => return,
            Step::Hang => {
                let mut sink = [0u8; 1024];
                while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
        }
    }
    // End of script: wait for the client to leave, so it sees no early close.
    let mut sink = [0u8; 1024];
    while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}
