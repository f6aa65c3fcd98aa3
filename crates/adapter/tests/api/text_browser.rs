//! A whole booking in a text browser: Debian's `lynx` (no script, no
//! WebAssembly, no CSS) in a terminal that `tmux` holds, driven key by key
//! as a person would, each step waiting (bounded) for what the screen must
//! show. `scripts/setup.sh` installs both; a missing one fails the test.

use std::process::Command;
use std::time::{Duration, Instant};

use firststep_protocol::SlotList;

use crate::booking_page::links;
use crate::helpers::{iso, spawn_app};

/// A tmux server of this test's own (its own socket), closed on drop.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(command: &str, home: &std::path::Path) -> Self {
        let socket = format!("firststep-lynx-{}", std::process::id());
        let started = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "100", "-y", "40"])
            .args(["-e", &format!("HOME={}", home.display())])
            .args(["-e", "TERM=xterm", command])
            .status()
            .expect("tmux runs (scripts/setup.sh installs it)");
        assert!(started.success(), "tmux started");
        Self { socket }
    }

    fn keys(&self, keys: &[&str]) {
        let sent = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(sent.success());
    }

    /// Typed text, sent as characters (not key names).
    fn type_text(&self, text: &str) {
        self.keys(&["-l", text]);
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits (at most 10 s) until the screen shows `text`; returns the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Searches the page for `text` (lynx makes the link there current).
    fn search(&self, text: &str) {
        self.keys(&["/"]);
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// Presses Down until the screen names `field` (at most 12 times). After
    /// each, the field is looked for once lynx has redrawn; without it, the
    /// next Down waits until the screen has held still for 300 ms (2 s at
    /// most), so a slow or piecemeal redraw is not taken for a field passed by.
    fn down_to(&self, field: &str) {
        for _ in 0..12 {
            let before = self.screen();
            self.keys(&["Down"]);
            let deadline = Instant::now() + Duration::from_secs(2);
            let (mut shown, mut since) = (self.screen(), Instant::now());
            loop {
                let redrawn = shown != before;
                if shown.contains(field) && (redrawn || Instant::now() >= deadline) {
                    return;
                }
                let settled = redrawn && since.elapsed() >= Duration::from_millis(300);
                if settled || Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
                let now = self.screen();
                if now != shown {
                    (shown, since) = (now, Instant::now());
                }
            }
        }
        panic!("no {field} below; the screen shows:\n{}", self.screen());
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visitor_books_in_lynx_without_script() {
    let app = spawn_app().await;
    let home = tempfile::tempdir().unwrap();
    let tomorrow = (app.now() + chrono::Duration::days(1)).date_naive();
    let day_label = tomorrow.format("%A, %B %-d (").to_string();
    let url = app.url("/book/intake");

    let lynx = format!("lynx -nocolor -accept_all_cookies -noreferer {url}");
    let run = tokio::task::spawn_blocking(move || {
        let terminal = Terminal::start(&lynx, home.path());
        terminal.wait_for("Choose a day");

        // The day, then a time, each a link.
        terminal.search(&day_label);
        terminal.keys(&["Right"]);
        terminal.wait_for(&format!(
            "Open times on {}",
            day_label.trim_end_matches(" (")
        ));
        terminal.search("10:15 AM");
        terminal.keys(&["Right"]);
        terminal.wait_for("Your chosen time:");

        // The form: name and email typed, consent ticked, sent.
        terminal.down_to("Enter text. Use UP or DOWN arrows");
        terminal.type_text("Sam Lee");
        terminal.keys(&["Down"]);
        terminal.type_text("sam@example.org");
        terminal.wait_for("Email sam@example.org");
        terminal.wait_for("Name Sam Lee");
        terminal.down_to("(Checkbox Field)");
        terminal.keys(&["Enter"]);
        terminal.wait_for("[X] I agree");
        terminal.down_to("(Form submit button)");
        terminal.keys(&["Enter"]);
        let done = terminal.wait_for("Your consultation is booked.");

        // The manage link leads to the booking.
        terminal.search("See or cancel your booking");
        terminal.keys(&["Right"]);
        let managed = terminal.wait_for("Status: confirmed");
        terminal.keys(&["q", "y"]);
        (done, managed)
    });
    let (done, managed) = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the booking in lynx finishes within 90 s")
        .expect("the lynx session did not fail");

    assert!(done.contains("Booked"), "{done}");
    assert!(done.contains("at 10:15 AM (UTC)"), "{done}");
    assert!(done.contains("Add to your calendar (.ics file)"), "{done}");
    assert!(managed.contains("at 10:15 AM (UTC)"), "{managed}");

    // The booking is in the store: its time is no longer offered.
    let start = tomorrow.and_hms_opt(10, 15, 0).unwrap().and_utc();
    let slots: SlotList = app
        .get(&format!(
            "/v1/slots?service=intake&from={}&to={}",
            iso(start - chrono::Duration::hours(1)),
            iso(start + chrono::Duration::hours(1))
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(!slots.slots.is_empty(), "other times stay open");
    assert!(
        slots.slots.iter().all(|slot| slot.start != start),
        "10:15 is booked"
    );
    // And the booking page itself no longer links to it.
    let page = app
        .get(&format!("/book/intake?day={tomorrow}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!links(&page, "?time=").is_empty());
    assert!(!page.contains(&format!("?time={}", iso(start))));
}
