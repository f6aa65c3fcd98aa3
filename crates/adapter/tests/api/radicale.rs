//! A real Radicale CalDAV server, started by the tests on 127.0.0.1 with a
//! temporary storage folder and stopped when dropped. The binary comes from
//! the project's `.venv` (scripts/setup.sh), or `FIRSTSTEP_RADICALE`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const USER: &str = "practice";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Radicale {
    pub base: String,
    folder: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    client: reqwest::Client,
}

fn binary() -> PathBuf {
    std::env::var_os("FIRSTSTEP_RADICALE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/radicale")
        })
}

impl Radicale {
    /// Starts Radicale with one user and an empty calendar at [`Radicale::calendar_url`].
    pub async fn start() -> Self {
        let folder = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(folder.path().join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
        std::fs::write(
            folder.path().join("config"),
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n\
                 htpasswd_encryption = plain\n[storage]\nfilesystem_folder = {storage}\n[rights]\ntype = owner_only\n\
                 [logging]\nlevel = warning\n",
                users = folder.path().join("users").display(),
                storage = folder.path().join("collections").display(),
            ),
        )
        .unwrap();
        let mut radicale = Self {
            base: format!("http://127.0.0.1:{port}"),
            folder,
            port,
            child: None,
            client: reqwest::Client::new(),
        };
        radicale.resume().await;
        let made = radicale
            .send("MKCALENDAR", &radicale.calendar_url(), None)
            .await;
        assert!(made.status().is_success(), "MKCALENDAR: {}", made.status());
        radicale
    }

    pub fn calendar_url(&self) -> String {
        format!("{}/{USER}/consultations/", self.base)
    }

    /// Stops the server (its storage stays).
    pub fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and storage.
    pub async fn resume(&mut self) {
        let child = Command::new(binary())
            .args([
                "--config",
                &self.folder.path().join("config").display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} (run scripts/setup.sh): {e}",
                    binary().display()
                )
            });
        self.child = Some(child);
        crate::helpers::wait_for_port(self.port, "Radicale").await;
    }

    async fn send(&self, method: &str, url: &str, body: Option<String>) -> reqwest::Response {
        let mut request = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .basic_auth(USER, Some(PASSWORD));
        if let Some(body) = body {
            request = request.header("Content-Type", "text/calendar").body(body);
        }
        request.send().await.unwrap()
    }

    /// Writes an event as another calendar client would.
    pub async fn put_event(&self, name: &str, vevent: &str) {
        let body = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Other client//EN\r\n{vevent}END:VCALENDAR\r\n");
        let response = self
            .send(
                "PUT",
                &format!("{}{name}.ics", self.calendar_url()),
                Some(body),
            )
            .await;
        assert!(
            response.status().is_success(),
            "PUT {name}: {}",
            response.status()
        );
    }

    /// An entry as another client reads it, if it is there.
    pub async fn get_event(&self, name: &str) -> Option<String> {
        let response = self
            .send("GET", &format!("{}{name}.ics", self.calendar_url()), None)
            .await;
        if !response.status().is_success() {
            return None;
        }
        Some(response.text().await.unwrap())
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        self.pause();
    }
}

/// The test practice of [`crate::helpers::CONFIG`] writing to this Radicale,
/// with the password in a file beside the configuration.
pub fn caldav_config(radicale: &Radicale, folder: &std::path::Path, password: &str) -> String {
    std::fs::write(folder.join("caldav-password"), password).unwrap();
    format!(
        "{}\n[calendar]\nbackend = \"caldav\"\nurl = \"{}\"\nuser = \"{USER}\"\npassword_file = \"caldav-password\"\nrefresh_seconds = 5\n",
        crate::helpers::CONFIG,
        radicale.calendar_url()
    )
}
