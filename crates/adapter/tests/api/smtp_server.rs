//! A real SMTP server (aiosmtpd, from the project's `.venv`) started by the
//! tests on 127.0.0.1; what it receives lands in a maildir the tests read.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Option<Child>,
    /// aiosmtpd's handler class (`-c`).
    handler: &'static str,
}

/// One received email, decoded.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The text/calendar attachment, if any.
    pub ics: Option<String>,
    /// The message as it arrived, line breaks and all.
    pub raw: Vec<u8>,
}

fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_with("aiosmtpd.handlers.Mailbox").await
    }

    /// A server that keeps each message byte for byte as it came in DATA
    /// (aiosmtpd's Mailbox rewrites line breaks), see `refusing_smtp.py`.
    pub async fn start_recording() -> Self {
        Self::start_with("refusing_smtp.Recorder").await
    }

    /// A recording server that answers 550 to every recipient at
    /// `example.org` (the test visitor's domain) and takes the rest.
    pub async fn start_refusing() -> Self {
        Self::start_with("refusing_smtp.RefuseExampleOrg").await
    }

    // The gate is for the replica tests (tests/replicas.rs), which include this file.
    /// A recording server whose gate starts closed: each message, received
    /// whole, waits unanswered until [`SmtpServer::open_gate`].
    #[allow(dead_code)]
    pub async fn start_gated() -> Self {
        let server = Self::start_with("refusing_smtp.Gated").await;
        std::fs::create_dir_all(server.maildir.path().join("mail")).unwrap();
        std::fs::write(server.gate(), "").unwrap();
        server
    }

    /// Lets the messages held and those to come through.
    #[allow(dead_code)]
    pub fn open_gate(&self) {
        std::fs::remove_file(self.gate()).unwrap();
    }

    #[allow(dead_code)]
    fn gate(&self) -> PathBuf {
        self.maildir.path().join("mail").join("closed")
    }

    async fn start_with(handler: &'static str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            port,
            maildir: tempfile::tempdir().unwrap(),
            child: None,
            handler,
        };
        server.resume().await;
        server
    }

    pub fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn resume(&mut self) {
        let child = Command::new(python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                self.handler,
            ])
            .env(
                "PYTHONPATH",
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api"),
            )
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting aiosmtpd (run scripts/setup.sh): {e}"));
        self.child = Some(child);
        crate::helpers::wait_for_port(self.port, "aiosmtpd").await;
    }

    /// Every email received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let folder = self.maildir.path().join("mail").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        files.sort_by_key(|f| f.metadata().and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|f| parse(&std::fs::read(f.path()).unwrap()))
            .collect()
    }

    /// Waits until `count` emails have arrived (and a moment more, to catch a duplicate).
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<Received> {
        for _ in 0..seconds * 10 {
            if self.received().len() >= count {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return self.received();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "expected {count} emails within {seconds} s, got {:#?}",
            self.received()
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.pause();
    }
}

fn parse(raw: &[u8]) -> Received {
    use mailparse::MailHeaderMap;
    let mail = mailparse::parse_mail(raw).unwrap();
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let (body, ics) = if mail.subparts.is_empty() {
        (mail.get_body().unwrap(), None)
    } else {
        let ics = mail
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == "text/calendar")
            .map(|p| p.get_body().unwrap());
        (mail.subparts[0].get_body().unwrap(), ics)
    };
    Received {
        to: header("To"),
        subject: header("Subject"),
        body: body.replace("\r\n", "\n"),
        ics,
        raw: raw.to_vec(),
    }
}
