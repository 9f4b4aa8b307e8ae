//! A real SMTP server for the tests, over TCP on a free port: the `mailin` crate speaks the
//! protocol, this module runs its sessions on tokio and keeps what arrives. Recipients whose
//! address starts with `refused` are refused for good (550), like a mailbox that does not
//! exist; `slow` makes every accepted message take a while, so a test can kill usher mid-send;
//! `login` makes the server require that user and password (AUTH PLAIN or LOGIN).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder, response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::Mail;

/// What the server received.
#[derive(Debug, Default)]
struct Inbox {
    mails: Vec<Mail>,
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Inbox>>,
    data: Vec<u8>,
    login: Option<(&'static str, &'static str)>,
}

impl Collector {
    fn check(&self, user: &str, password: &str) -> Response {
        if self.login == Some((user, password)) { response::AUTH_OK } else { response::INVALID_CREDENTIALS }
    }
}

impl Handler for Collector {
    fn auth_plain(&mut self, _authorization: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
    fn rcpt(&mut self, to: &str) -> Response {
        if to.starts_with("refused") { response::NO_MAILBOX } else { response::OK }
    }
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        self.data.clear();
        response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        if let Some(mail) = Mail::parse(&self.data) {
            self.inbox.lock().unwrap().mails.push(mail);
        }
        response::OK
    }
}

/// A running SMTP server; it stops when dropped.
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    inbox: Arc<Mutex<Inbox>>,
    tasks: JoinSet<()>,
}

impl SmtpSink {
    /// Starts on a free port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on(0, Duration::ZERO).await
    }

    /// Starts on `port` (0: a free one), taking `slow` to accept each message.
    pub async fn start_on(port: u16, slow: Duration) -> SmtpSink {
        SmtpSink::start_with(port, slow, None).await
    }

    /// Starts on a free port, requiring `user` and `password`.
    pub async fn start_with_login(user: &'static str, password: &'static str) -> SmtpSink {
        SmtpSink::start_with(0, Duration::ZERO, Some((user, password))).await
    }

    async fn start_with(port: u16, slow: Duration, login: Option<(&'static str, &'static str)>) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind the SMTP port");
        let port = listener.local_addr().expect("address").port();
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let mut tasks = JoinSet::new();
        let shared = inbox.clone();
        tasks.spawn(async move {
            let mut sessions = JoinSet::new();
            loop {
                let Ok((stream, peer)) = listener.accept().await else { continue };
                let handler = Collector { inbox: shared.clone(), data: Vec::new(), login };
                sessions.spawn(session(stream, peer.ip(), handler, slow));
            }
        });
        SmtpSink { port, inbox, tasks }
    }

    /// The URL usher sends to.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.lock().unwrap().mails.clone()
    }

    /// Stops listening and ends every open session (the server goes down).
    pub fn stop(mut self) {
        self.tasks.abort_all();
    }
}

async fn session(stream: tokio::net::TcpStream, peer: IpAddr, handler: Collector, slow: Duration) {
    let mut builder = SessionBuilder::new("sink.test");
    if handler.login.is_some() {
        // Plain-text AUTH is for this test server only; real servers offer it after TLS.
        builder
            .enable_auth(AuthMechanism::Plain)
            .enable_auth(AuthMechanism::Login)
            .insecure_enable_plaintext_auth();
    }
    let mut session = builder.build(peer, handler);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut greeting = Vec::new();
    if session.greeting().write_to(&mut greeting).is_err() || write.write_all(&greeting).await.is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = session.process(&line);
        if answer.action == Action::NoReply {
            continue;
        }
        if !slow.is_zero() && answer.code == 250 && line.as_slice() == b".\r\n" {
            tokio::time::sleep(slow).await;
        }
        let mut out = Vec::new();
        if answer.write_to(&mut out).is_err() || write.write_all(&out).await.is_err() {
            return;
        }
        if answer.action == Action::Close {
            return;
        }
    }
}
