//! The adapter binary as a process of its own (`serve` on a free port), for
//! tests that stop it by signal or run several on one store. Killed when
//! dropped.
//!
//! Included by path (`#[path]`) by the test binaries that need it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Adapter {
    child: Child,
    pub address: SocketAddr,
    log: PathBuf,
    /// Kept open: the adapter may still print.
    _stdout: BufReader<ChildStdout>,
}

impl Adapter {
    /// Starts `serve` with `config` on `store` (a SQLite file or a
    /// `postgres://` URL) and waits until it says where it listens. Its log
    /// goes to a file of its own in `folder`.
    pub fn start(config: &Path, store: impl AsRef<OsStr>, folder: &Path) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let log = folder.join(format!(
            "adapter-{}.log",
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--store")
            .arg(store)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("FIRSTSTEP_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the adapter starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        let mut lines = BufReader::new(stdout);
        let address = loop {
            line.clear();
            if lines.read_line(&mut line).unwrap() == 0 {
                panic!(
                    "the adapter ended before listening: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        Self {
            child,
            address,
            log,
            _stdout: lines,
        }
    }

    /// Sends SIGTERM at once: spawning `kill` took long enough on a busy
    /// machine for the whole load to be answered before the stop came.
    pub fn terminate(&self) {
        rustix::process::kill_process(self.pid(), rustix::process::Signal::TERM)
            .expect("SIGTERM sent");
    }

    /// Kills it with SIGKILL (nothing of it runs on: no stop, no let-go) and
    /// waits until it is gone.
    pub fn kill(&mut self) {
        rustix::process::kill_process(self.pid(), rustix::process::Signal::KILL)
            .expect("SIGKILL sent");
        let _ = self.child.wait();
    }

    fn pid(&self) -> rustix::process::Pid {
        i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .expect("a child's pid")
    }

    /// The signals it has handlers for now (Linux's `SigCgt`: bit n − 1
    /// for signal n).
    pub fn caught_signals(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .unwrap_or_else(|| panic!("no SigCgt in {status}"))
    }

    /// Waits for the exit; its status and how long it took from now.
    pub fn wait_exit(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("the adapter did not exit within {within:?}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
