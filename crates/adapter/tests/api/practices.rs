//! Many practices in one process (`serve --config-dir`): two practices on
//! one store, each under `/p/{id}/`, never reach each other's data; each
//! one's emails carry its own links; SIGHUP adds, changes and removes
//! practices, and a broken file leaves the old version serving.

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use firststep_adapter::clock::Clock;
use firststep_adapter::practices::{Practices, ServerOverrides};
use firststep_adapter::Application;
use firststep_protocol::{BookingCreated, ErrorCode, SlotList};
use reqwest::Method;
use serde_json::Value;

use crate::booking_page::{filled, form_body, input_value, links};
use crate::helpers::{booking_body, count_rows_in, new_key, problem, store_in, CONFIG};
use crate::smtp_server::SmtpServer;

/// A practice file: the tests' practice named `name`, its mail to `smtp_port`
/// with its own link secret and address, its own feed token, and the busy
/// time of `busy_feed` when given.
fn practice_file(folder: &Path, id: &str, smtp_port: u16, busy_feed: Option<&str>) -> String {
    let secret = folder.join(format!("{id}.secret"));
    std::fs::write(
        &secret,
        format!("the link secret of {id}, over 32 characters"),
    )
    .unwrap();
    let feed = folder.join(format!("{id}.feed"));
    std::fs::write(&feed, feed_token(id)).unwrap();
    let calendar = busy_feed.map_or(String::new(), |url| {
        format!("\n[calendar]\nbackend = \"local\"\nbusy_feeds = [\"{url}\"]\n")
    });
    let config = CONFIG.replace("Test Practice", &format!("Practice {id}"));
    format!(
        "{config}{calendar}\n[feed]\ntoken_file = {feed:?}\n\n[mail]\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {smtp_port}\ntls = \"none\"\nfrom = \"Practice {id} <bookings@{id}.example.org>\"\n\
         practice_to = \"therapist@{id}.example.org\"\npublic_url = \"https://public.test\"\n\
         link_secret_file = {secret:?}\n"
    )
}

fn feed_token(id: &str) -> String {
    format!("the-feed-token-of-{id}-0123456789abcdef")
}

/// The practices of a round deliver side by side: one whose mail server
/// accepts connections and never answers (each read waits 20 s) holds none
/// of another's emails.
#[tokio::test]
async fn a_practice_whose_mail_server_never_answers_holds_none_of_anothers_emails() {
    let smtp = SmtpServer::start().await;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    for (id, port) in [
        ("alpha", silent.local_addr().unwrap().port()),
        ("beta", smtp.port),
    ] {
        let file = practice_file(folder.path(), id, port, None);
        std::fs::write(dir.join(format!("{id}.toml")), file).unwrap();
    }
    let app = serve(folder.path(), &dir).await;
    // Alpha's emails come first in the outbox.
    for id in ["alpha", "beta"] {
        let start = app.starts(id, "free-consultation").await[0];
        let body = body_for("free-consultation", start);
        let booked = app.post_booking(id, &new_key(), &body).await;
        assert_eq!(booked.status(), 201, "{id}");
    }
    // A round with both practices' items (the worker's may be held by alpha's alone).
    let practices = app.practices.clone();
    tokio::spawn(async move { practices.deliver_due().await });

    // Beta's two emails within 10 s (on SQLite, where no lease is taken,
    // the worker's round may send them as well).
    let mails = smtp.wait_for(2, 10).await;
    let to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    for address in ["therapist@beta.example.org", "sam@example.org"] {
        assert!(to.iter().any(|t| t.contains(address)), "{address}: {to:?}");
    }
    drop(silent);
}

/// A server of the practices in `dir` on its own store in `folder`.
struct Served {
    base: String,
    practices: Arc<Practices>,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(folder: &Path, dir: &Path) -> Served {
    let overrides = ServerOverrides {
        listen: Some("127.0.0.1:0".into()),
        store: Some(store_in(folder)),
    };
    let (clock, _hand) = Clock::movable();
    let app = Application::build_practices(dir, overrides, clock)
        .await
        .expect("the practices start");
    let base = format!("http://{}", app.address());
    let practices = app.practices().expect("a folder's practices");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Served {
        base,
        practices,
        client: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    async fn starts(&self, practice: &str, service: &str) -> Vec<chrono::DateTime<Utc>> {
        let from = Utc::now();
        let to = from + Duration::days(2);
        let path = format!(
            "/p/{practice}/v1/slots?service={service}&from={}&to={}",
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            to.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let response = self.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let slots: SlotList = response.json().await.unwrap();
        slots.slots.iter().map(|slot| slot.start).collect()
    }

    /// A request to `path` as the holder of a booking's manage `token`.
    fn as_owner(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    async fn post_booking(&self, practice: &str, key: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/p/{practice}/v1/bookings")))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// `booking_body` for `service`.
fn body_for(service: &str, start: chrono::DateTime<Utc>) -> Value {
    let mut body = booking_body(start);
    body["service"] = service.into();
    body
}

#[tokio::test]
async fn two_practices_on_one_store_never_reach_each_others_data() {
    let smtp = SmtpServer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    for id in ["alpha", "beta"] {
        let file = practice_file(folder.path(), id, smtp.port, None);
        std::fs::write(dir.join(format!("{id}.toml")), file).unwrap();
    }
    let app = serve(folder.path(), &dir).await;

    // Alpha takes a request; its answer names alpha's address.
    let start = app.starts("alpha", "free-consultation").await[0];
    let key = new_key();
    let body = body_for("free-consultation", start);
    let booked = app.post_booking("alpha", &key, &body).await;
    assert_eq!(booked.status(), 201);
    let id_path = booked.headers()["location"].to_str().unwrap().to_owned();
    let theirs: BookingCreated = booked.json().await.unwrap();
    let (id, token) = (theirs.booking.id.clone(), theirs.manage_token.clone());
    assert_eq!(id_path, format!("/p/alpha/v1/bookings/{id}"));

    // Beta knows nothing of it, by any of its addresses, with alpha's token.
    let with_token = |path: String| format!("{path}?token={token}");
    let booking_at_beta = format!("/p/beta/v1/bookings/{id}");
    let view = app.as_owner(Method::GET, &booking_at_beta, &token);
    assert_eq!(
        problem(view.send().await.unwrap(), 404).await.code,
        ErrorCode::NotFound
    );
    for path in [
        with_token(format!("/p/beta/v1/bookings/{id}/calendar.ics")),
        with_token(format!("/p/beta/manage/{id}")),
        with_token(format!("/p/beta/manage/{id}/times")),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }
    let cancel = app.as_owner(Method::DELETE, &booking_at_beta, &token);
    assert_eq!(
        problem(cancel.send().await.unwrap(), 404).await.code,
        ErrorCode::NotFound
    );
    let later = app.starts("alpha", "free-consultation").await[3];
    let moved = app
        .as_owner(
            Method::POST,
            &format!("{booking_at_beta}/reschedule"),
            &token,
        )
        .header("Idempotency-Key", new_key())
        .json(&serde_json::json!({ "start": crate::helpers::iso(later) }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(moved, 404).await.code, ErrorCode::NotFound);
    let page_cancel = app
        .client
        .post(app.url(&format!("/p/beta/manage/{id}/cancel")))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page_cancel.status(), 404);

    // Alpha's practice email: its confirm link carries /p/alpha; at beta it
    // confirms nothing.
    let mails = smtp.wait_for(2, 10).await;
    let to_alpha = mails
        .iter()
        .find(|m| m.to.contains("therapist@alpha.example.org"))
        .expect("alpha's practice email");
    let confirm = to_alpha
        .body
        .split_whitespace()
        .find(|word| word.contains("/requests/") && word.contains("/confirm"))
        .expect("a confirm link")
        .to_owned();
    assert!(
        confirm.starts_with(&format!(
            "https://public.test/p/alpha/requests/{id}/confirm?"
        )),
        "{confirm}"
    );
    for mail in &mails {
        assert!(!mail.body.contains("/p/beta"), "{}", mail.body);
        let links = mail.body.matches("https://public.test/").count();
        let alphas = mail.body.matches("https://public.test/p/alpha/").count();
        assert_eq!(links, alphas, "every link is alpha's: {}", mail.body);
    }
    let at_beta = confirm
        .replace("https://public.test/p/alpha/", "/p/beta/")
        .replace("&amp;", "&");
    let shown = app.get(&at_beta).await;
    assert_eq!(
        shown.status(),
        403,
        "beta's secret does not sign alpha's link"
    );
    let pressed = app.client.post(app.url(&at_beta)).send().await.unwrap();
    assert_eq!(pressed.status(), 403);

    // Feeds: alpha's token opens nothing at beta; beta's feed lacks alpha's booking.
    let alpha_feed = format!("/p/beta/feeds/bookings.ics?token={}", feed_token("alpha"));
    assert_ne!(app.get(&alpha_feed).await.status(), 200);
    let beta_feed = app
        .get(&format!(
            "/p/beta/feeds/bookings.ics?token={}",
            feed_token("beta")
        ))
        .await;
    assert_eq!(beta_feed.status(), 200);
    assert!(!beta_feed.text().await.unwrap().contains(&id));
    let alpha_feed = app
        .get(&format!(
            "/p/alpha/feeds/bookings.ics?token={}",
            feed_token("alpha")
        ))
        .await;
    assert!(alpha_feed.text().await.unwrap().contains(&id));

    // Alpha's time is still free at beta, and the same key there is beta's
    // own: a booking of its own, not alpha's answer replayed.
    assert!(app
        .starts("beta", "free-consultation")
        .await
        .contains(&start));
    let ours = app.post_booking("beta", &key, &body).await;
    assert_eq!(ours.status(), 201);
    assert!(ours.headers().get("idempotent-replayed").is_none());
    let ours_at = ours.headers()["location"].clone();
    let ours: BookingCreated = ours.json().await.unwrap();
    assert_ne!(ours.booking.id, id);
    assert_eq!(
        ours_at,
        format!("/p/beta/v1/bookings/{}", ours.booking.id).as_str()
    );
    // Alpha's key replayed at alpha: alpha's answer, at alpha's address.
    let replayed = app.post_booking("alpha", &key, &body).await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.headers()["location"], id_path.as_str());
    let mails = smtp.wait_for(4, 10).await;
    let to_beta = mails
        .iter()
        .find(|m| m.to.contains("therapist@beta.example.org"))
        .expect("beta's practice email");
    assert!(to_beta
        .body
        .contains("https://public.test/p/beta/requests/"));
    assert!(!to_beta.body.contains("/p/alpha"));

    // And alpha's booking stands as it was.
    let view = app.as_owner(Method::GET, &format!("/p/alpha/v1/bookings/{id}"), &token);
    let view = view.send().await.unwrap();
    assert_eq!(view.status(), 200);
    let view: Value = view.json().await.unwrap();
    assert_eq!(view["status"], "pending");
    assert_eq!(view["start"], crate::helpers::iso(start));

    // A practice not served, or not a practice's address: 404 problem+json.
    for path in [
        "/p/gamma/v1/slots",
        "/p/ALPHA/v1/practice",
        "/p/",
        "/v1/practice",
    ] {
        let missing = app.get(path).await;
        assert_eq!(
            problem(missing, 404).await.code,
            ErrorCode::NotFound,
            "{path}"
        );
    }
}

/// Alpha's page at `path`, every address it writes checked.
async fn alpha_page(app: &Served, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    let page = response.text().await.unwrap();
    assert_all_under_alpha(&page);
    page
}

/// Every address `page` writes (`="/…`) is under `/p/alpha/`.
fn assert_all_under_alpha(page: &str) {
    let addresses: Vec<&str> = page.split("=\"/").skip(1).collect();
    assert!(!addresses.is_empty(), "{page}");
    for rest in addresses {
        assert!(rest.starts_with("p/alpha/"), "not under /p/alpha: /{rest}");
    }
}

#[tokio::test]
async fn a_practices_pages_link_under_its_own_address() {
    let folder = tempfile::tempdir().unwrap();
    let widget = tempfile::tempdir().unwrap();
    std::fs::write(widget.path().join("firststep.js"), "// widget").unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    let file = practice_file(folder.path(), "alpha", crate::helpers::closed_port(), None).replace(
        "[server]\n",
        &format!("[server]\nwidget_dir = {:?}\n", widget.path()),
    );
    std::fs::write(dir.join("alpha.toml"), file).unwrap();
    let app = serve(folder.path(), &dir).await;

    // The hosted page: the services, its styles, the widget and its API.
    let list = alpha_page(&app, "/p/alpha/book").await;
    assert!(list.contains("href=\"/p/alpha/book/intake\""), "{list}");
    assert!(list.contains("href=\"/p/alpha/book.css\""), "{list}");
    let days = alpha_page(&app, "/p/alpha/book/intake").await;
    assert!(days.contains("href=\"/p/alpha/book.css\""), "{days}");
    assert!(
        days.contains("<script type=\"module\" src=\"/p/alpha/widget/firststep.js\">"),
        "{days}"
    );
    // The hints name the files the loader fetches beside itself.
    for hint in [
        "<link rel=\"modulepreload\" href=\"/p/alpha/widget/firststep-widget.js\">",
        "<link rel=\"preload\" href=\"/p/alpha/widget/firststep-widget_bg.wasm\" as=\"fetch\"",
    ] {
        assert!(days.contains(hint), "{hint}: {days}");
    }
    assert!(
        days.contains("<firststep-booking api=\"/p/alpha/\""),
        "{days}"
    );
    for linked in ["/p/alpha/book.css", "/p/alpha/widget/firststep.js"] {
        assert_eq!(app.get(linked).await.status(), 200, "{linked}");
    }
    let unknown = app.get("/p/alpha/book/no-such-service").await;
    assert_eq!(unknown.status(), 404);
    let unknown = unknown.text().await.unwrap();
    assert!(unknown.contains("href=\"/p/alpha/book\""), "{unknown}");

    // The form without script: its action, then the booked page's links
    // (a time days away, so the manage page offers to change it).
    let day = links(&days, "?day=").into_iter().nth(4).expect("a day");
    let day = alpha_page(&app, &format!("/p/alpha/book/intake{day}")).await;
    let time = links(&day, "?time=").into_iter().next().expect("a time");
    let form = alpha_page(&app, &format!("/p/alpha/book/intake{time}")).await;
    assert!(
        form.contains("<form method=\"post\" action=\"/p/alpha/book/intake\""),
        "{form}"
    );
    let fields = filled(&form, &[]);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = app
        .client
        .post(app.url("/p/alpha/book/intake"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&fields))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let done = done.text().await.unwrap();
    assert_all_under_alpha(&done);
    let manage = links(&done, "/p/alpha/manage/");
    let ics = links(&done, "/p/alpha/v1/bookings/");
    assert_eq!((manage.len(), ics.len()), (1, 1), "{done}");
    assert!(ics[0].contains("/calendar.ics?token="), "{done}");
    assert_eq!(app.get(&ics[0]).await.status(), 200);

    // The manage page's links and forms, and the times page's.
    let managed = alpha_page(&app, &manage[0]).await;
    let id = manage[0]
        .trim_start_matches("/p/alpha/manage/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let token = input_value(&managed, "token");
    assert!(
        managed.contains(&format!("action=\"/p/alpha/manage/{id}/cancel\"")),
        "{managed}"
    );
    let times = links(&managed, &format!("/p/alpha/manage/{id}/times?token="));
    assert_eq!(times.len(), 1, "{managed}");
    let choices = alpha_page(&app, &times[0]).await;
    assert!(
        choices.contains(&format!("action=\"/p/alpha/manage/{id}/times\"")),
        "{choices}"
    );
    assert_eq!(
        links(&choices, &format!("/p/alpha/manage/{id}?token=")).len(),
        1
    );

    // A move's Location, first and replayed, is alpha's too.
    let later = app.starts("alpha", "intake").await[3];
    let key = new_key();
    for _ in 0..2 {
        let moved = app
            .as_owner(
                Method::POST,
                &format!("/p/alpha/v1/bookings/{id}/reschedule"),
                &token,
            )
            .header("Idempotency-Key", &key)
            .json(&serde_json::json!({ "start": crate::helpers::iso(later) }))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), 200);
        assert_eq!(
            moved.headers()["location"],
            format!("/p/alpha/v1/bookings/{id}").as_str()
        );
    }
}

#[tokio::test]
async fn a_single_practices_outbox_on_the_same_store_leaves_a_folders_items_alone() {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    // Alpha's mail server is down: its emails stay owed (retried, never done).
    let file = practice_file(folder.path(), "alpha", crate::helpers::closed_port(), None);
    std::fs::write(dir.join("alpha.toml"), file).unwrap();
    let folders = serve(folder.path(), &dir).await;
    let start = folders.starts("alpha", "free-consultation").await[0];
    let body = body_for("free-consultation", start);
    let booked = folders.post_booking("alpha", &new_key(), &body).await;
    assert_eq!(booked.status(), 201);
    let location = store_in(folder.path());
    let alphas_mails =
        "SELECT COUNT(*) FROM outbox WHERE practice = 'alpha' AND action LIKE 'mail:%'";
    let alphas_finished =
        "SELECT COUNT(*) FROM outbox WHERE practice = 'alpha' AND action LIKE 'mail:%'
         AND (done_at IS NOT NULL OR set_aside_at IS NOT NULL)";
    assert!(
        count_rows_in(&location, alphas_mails) > 0,
        "alpha's emails are owed"
    );
    assert_eq!(count_rows_in(&location, alphas_finished), 0);

    // A single practice (no mail: its emails are dropped as delivered) on
    // the same store, an hour on, when alpha's retries are due: its round
    // delivers its own booking and none of alpha's items.
    let single = crate::helpers::spawn_on(CONFIG, folder.clone()).await;
    single.advance(Duration::hours(1));
    let own = single.book(single.a_free_slot().await).await;
    let own_done = format!(
        "SELECT COUNT(*) FROM outbox WHERE booking_id = '{}' AND done_at IS NULL",
        own.booking.id
    );
    crate::helpers::eventually("the single practice's round", 10, || async {
        count_rows_in(&location, &own_done) == 0
    })
    .await;
    assert_eq!(count_rows_in(&location, alphas_finished), 0);
}

/// Busy time each day 12:00 to 13:00 UTC, from today.
async fn serve_noon_feed() -> String {
    let today = Utc::now().date_naive().format("%Y%m%d");
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:noon\r\nDTSTART:{today}T120000Z\r\n\
         DTEND:{today}T130000Z\r\nRRULE:FREQ=DAILY\r\nSUMMARY:Supervision\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let app = axum::Router::new().route(
        "/secret/busy.ics",
        axum::routing::get(move || {
            let ics = ics.clone();
            async move { ([("content-type", "text/calendar")], ics) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/secret/busy.ics", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn one_practices_busy_time_never_hides_anothers_slots() {
    let feed = serve_noon_feed().await;
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    let port = crate::helpers::closed_port();
    let alpha = practice_file(folder.path(), "alpha", port, Some(&feed));
    std::fs::write(dir.join("alpha.toml"), alpha).unwrap();
    let beta = practice_file(folder.path(), "beta", port, None);
    std::fs::write(dir.join("beta.toml"), beta).unwrap();
    let app = serve(folder.path(), &dir).await;

    let at_noon = |starts: &[chrono::DateTime<Utc>]| {
        starts
            .iter()
            .filter(|t| t.format("%H").to_string() == "12")
            .count()
    };
    assert_eq!(at_noon(&app.starts("alpha", "intake").await), 0);
    assert!(at_noon(&app.starts("beta", "intake").await) > 0);
}

/// `dir`'s practice `id` as the server shows it, by name.
async fn name_of(app: &Served, id: &str) -> Option<String> {
    let response = app.get(&format!("/p/{id}/v1/practice")).await;
    match response.status().as_u16() {
        200 => Some(
            response.json::<Value>().await.unwrap()["name"]
                .as_str()?
                .to_owned(),
        ),
        404 => None,
        other => panic!("/p/{id}/v1/practice answered {other}"),
    }
}

#[tokio::test]
async fn a_reload_adds_changes_and_removes_practices_and_keeps_a_broken_files_old_version() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    let port = crate::helpers::closed_port();
    let write =
        |id: &str, text: &str| std::fs::write(dir.join(format!("{id}.toml")), text).unwrap();
    let file = |id: &str| practice_file(folder.path(), id, port, None);
    write("alpha", &file("alpha"));
    write("beta", &file("beta"));
    let app = serve(folder.path(), &dir).await;
    assert_eq!(
        name_of(&app, "alpha").await.as_deref(),
        Some("Practice alpha")
    );

    write("gamma", &file("gamma"));
    write(
        "beta",
        &file("beta").replace("Practice beta", "Beta renamed"),
    );
    std::fs::remove_file(dir.join("alpha.toml")).unwrap();
    std::fs::write(dir.join("Not An Id.toml"), file("delta")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a practice").unwrap();
    let report = app.practices.reload().await;
    assert_eq!(report.added, ["gamma"]);
    assert_eq!(report.changed, ["beta"]);
    assert_eq!(report.removed, ["alpha"]);
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert!(report.refused[0].contains("Not An Id.toml: the file's name is the practice's id"));
    assert_eq!(name_of(&app, "alpha").await, None);
    assert_eq!(name_of(&app, "beta").await.as_deref(), Some("Beta renamed"));
    assert_eq!(
        name_of(&app, "gamma").await.as_deref(),
        Some("Practice gamma")
    );

    // A file broken meanwhile is refused at its line; its old version serves on.
    let broken =
        file("gamma").replace("Practice gamma", "Gamma broken") + "\n[nonsense]\nkey = 1\n";
    write("gamma", &broken);
    let line = broken.lines().position(|l| l == "[nonsense]").unwrap() + 1;
    let report = app.practices.reload().await;
    assert!(
        report.changed.is_empty() && report.removed.is_empty(),
        "{report:?}"
    );
    let gamma = dir.join("gamma.toml").display().to_string();
    assert!(
        report
            .refused
            .iter()
            .any(|p| p.starts_with(&format!("{gamma}:{line}: nonsense"))),
        "{:?}",
        report.refused
    );
    assert_eq!(
        name_of(&app, "gamma").await.as_deref(),
        Some("Practice gamma")
    );
    assert_eq!(app.practices.ids(), ["beta", "gamma"]);
}

/// Alpha and beta served from `folder`'s `practices/` (given as
/// `practices/`, trailing slash, as the docs write it), their files written
/// with `write`.
async fn alpha_and_beta(folder: &Path) -> (Served, std::path::PathBuf) {
    let dir = folder.join("practices");
    std::fs::create_dir(&dir).unwrap();
    let port = crate::helpers::closed_port();
    for id in ["alpha", "beta"] {
        let text = practice_file(folder, id, port, None);
        std::fs::write(dir.join(format!("{id}.toml")), text).unwrap();
    }
    let given = std::path::PathBuf::from(format!("{}/", dir.display()));
    (serve(folder, &given).await, dir)
}

#[tokio::test]
async fn a_reload_of_a_folder_gone_or_empty_keeps_every_practice() {
    let folder = tempfile::tempdir().unwrap();
    let (app, dir) = alpha_and_beta(folder.path()).await;

    let aside = folder.path().join("aside");
    std::fs::rename(&dir, &aside).unwrap();
    let report = app.practices.reload().await;
    assert!(report.removed.is_empty(), "{report:?}");
    assert!(
        report.refused[0].contains("cannot read the folder"),
        "{report:?}"
    );
    assert_eq!(app.practices.ids(), ["alpha", "beta"]);

    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a practice").unwrap();
    let report = app.practices.reload().await;
    assert!(report.removed.is_empty(), "{report:?}");
    assert!(report.refused[0].contains("no practice file"), "{report:?}");
    assert_eq!(app.practices.ids(), ["alpha", "beta"]);
    assert_eq!(
        name_of(&app, "beta").await.as_deref(),
        Some("Practice beta")
    );

    // Back in place: read as before, nothing changed.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::rename(&aside, &dir).unwrap();
    assert_eq!(app.practices.reload().await, Default::default());
}

#[tokio::test]
async fn a_refused_file_keeps_its_practice_and_server_is_compared_with_the_running_one() {
    let folder = tempfile::tempdir().unwrap();
    let (app, dir) = alpha_and_beta(folder.path()).await;
    let port = crate::helpers::closed_port();

    // Beta broken, and a new first file with a [server] of its own.
    let beta = dir.join("beta.toml");
    let broken = std::fs::read_to_string(&beta).unwrap() + "\n[nonsense]\nkey = 1\n";
    std::fs::write(&beta, broken).unwrap();
    let other_server = practice_file(folder.path(), "aaa", port, None)
        .replace("bookings_per_minute = 100000", "bookings_per_minute = 5");
    std::fs::write(dir.join("aaa.toml"), other_server).unwrap();
    let alpha = practice_file(folder.path(), "alpha", port, None)
        .replace("Practice alpha", "Alpha renamed");
    std::fs::write(dir.join("alpha.toml"), alpha).unwrap();

    let report = app.practices.reload().await;
    assert_eq!(report.changed, ["alpha"], "{report:?}");
    assert!(
        report.added.is_empty() && report.removed.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.refused.len(), 2, "{report:?}");
    assert!(
        report.refused[0].contains("aaa.toml: [server] differs from the running one's"),
        "{report:?}"
    );
    assert!(report.refused[1].contains("beta.toml:"), "{report:?}");
    assert_eq!(app.practices.ids(), ["alpha", "beta"]);
    assert_eq!(
        name_of(&app, "alpha").await.as_deref(),
        Some("Alpha renamed")
    );
    assert_eq!(
        name_of(&app, "beta").await.as_deref(),
        Some("Practice beta")
    );
}

#[tokio::test]
async fn a_fifo_named_like_a_practice_is_refused_without_reading_it() {
    let folder = tempfile::tempdir().unwrap();
    let (app, dir) = alpha_and_beta(folder.path()).await;
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("gamma.toml"))
        .status()
        .unwrap();
    assert!(made.success());

    // Read, the FIFO would block the reload until a writer came: forever.
    let reload = app.practices.reload();
    let report = tokio::time::timeout(std::time::Duration::from_secs(10), reload)
        .await
        .expect("the reload ends");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(
        report.refused[0].ends_with("gamma.toml: not a regular file"),
        "{report:?}"
    );
    assert_eq!(app.practices.ids(), ["alpha", "beta"]);
}

/// `visitor export` of a folder's practice file says which practice it
/// read: the one named by `--practice`, or, without it, not the file's.
#[tokio::test]
async fn the_command_line_says_which_practice_it_acts_on() {
    let folder = tempfile::tempdir().unwrap();
    let (_app, dir) = alpha_and_beta(folder.path()).await;
    let export = |practice: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"));
        command
            .args(["visitor", "export", "--config"])
            .arg(dir.join("alpha.toml"))
            .args(["--email", "sam@example.org"])
            .env(
                "FIRSTSTEP_STORE",
                crate::helpers::store_arg(&store_in(folder.path())),
            );
        if let Some(id) = practice {
            command.args(["--practice", id]);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    assert_eq!(export(Some("alpha")), "practice: alpha\n");
    let unnamed = export(None);
    assert!(
        unnamed.starts_with("practice: the one of --config alone")
            && unnamed.contains("--practice ID"),
        "{unnamed}"
    );
}

/// The adapter binary serving the practices of `dir`; stopped when dropped.
struct Process {
    child: std::process::Child,
    base: String,
    log: std::path::PathBuf,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Process {
    fn start(folder: &Path, dir: &Path) -> Self {
        Self::starting(folder, dir).serving()
    }

    /// The adapter started, not yet serving.
    fn starting(folder: &Path, dir: &Path) -> Starting {
        let log = folder.join("adapter.log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config-dir"])
            .arg(dir)
            .arg("--store")
            .arg(folder.join("bookings.sqlite3"))
            .env("FIRSTSTEP_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the adapter starts");
        Starting { child, log }
    }

    fn hang_up(&self) {
        hang_up(&self.child);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The adapter binary, started; [`Starting::serving`] once it tells its address.
struct Starting {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Starting {
    /// Waits for the address the adapter prints once it serves.
    fn serving(mut self) -> Process {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(self.child.stdout.take().unwrap());
        let mut line = String::new();
        lines.read_line(&mut line).unwrap();
        let address = line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| {
                panic!(
                    "no address in {line:?}: {}",
                    std::fs::read_to_string(&self.log).unwrap()
                )
            })
            .to_owned();
        Process {
            child: self.child,
            base: format!("http://{address}"),
            log: self.log,
            _stdout: lines,
        }
    }

    fn hang_up(&self) {
        hang_up(&self.child);
    }
}

/// Sends SIGHUP to `child`.
fn hang_up(child: &std::process::Child) {
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .expect("a child's pid");
    rustix::process::kill_process(pid, rustix::process::Signal::HUP).expect("SIGHUP sent");
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The name `/p/{id}/v1/practice` shows at `base`, or its status.
async fn shown_name(client: &reqwest::Client, base: &str, id: &str) -> Result<String, u16> {
    let response = client
        .get(format!("{base}/p/{id}/v1/practice"))
        .send()
        .await
        .map_err(|_| 0_u16)?;
    match response.status().as_u16() {
        200 => Ok(response.json::<Value>().await.unwrap()["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()),
        status => Err(status),
    }
}

#[tokio::test]
async fn sighup_rereads_the_folder_while_requests_go_on() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    let port = crate::helpers::closed_port();
    let file = |id: &str| practice_file(folder.path(), id, port, None);
    let write =
        |id: &str, text: &str| std::fs::write(dir.join(format!("{id}.toml")), text).unwrap();
    write("alpha", &file("alpha"));
    write("beta", &file("beta"));
    let adapter = Process::start(folder.path(), &dir);
    let client = reqwest::Client::new();

    // Beta is asked without a pause while it changes: every answer is
    // whole, by its old name or its new one. The asking stops once told
    // the new name is live, after one more answer (or after 30 s).
    let enough = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asking = {
        let (client, base, enough) = (client.clone(), adapter.base.clone(), enough.clone());
        tokio::spawn(async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let mut answers = Vec::new();
            loop {
                let last = enough.load(std::sync::atomic::Ordering::SeqCst)
                    || std::time::Instant::now() > deadline;
                answers.push(shown_name(&client, &base, "beta").await);
                if last {
                    return answers;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    write("gamma", &file("gamma"));
    write(
        "beta",
        &file("beta").replace("Practice beta", "Beta renamed"),
    );
    std::fs::remove_file(dir.join("alpha.toml")).unwrap();
    adapter.hang_up();
    let base = adapter.base.as_str();
    crate::helpers::eventually("the folder re-read", 10, || async {
        shown_name(&client, base, "gamma").await.is_ok()
    })
    .await;
    assert_eq!(shown_name(&client, base, "alpha").await, Err(404));
    // Asked of no practice served, and logged all the same.
    let said = "path=\"/p/alpha/v1/practice\" status=404";
    crate::helpers::eventually("the 404 logged", 10, || async {
        adapter.log().contains(said)
    })
    .await;
    assert_eq!(
        shown_name(&client, base, "beta").await.as_deref(),
        Ok("Beta renamed")
    );
    enough.store(true, std::sync::atomic::Ordering::SeqCst);
    let answers = asking.await.unwrap();
    assert!(
        answers
            .iter()
            .all(|a| matches!(a.as_deref(), Ok("Practice beta" | "Beta renamed"))),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|a| a.as_deref() == Ok("Beta renamed")),
        "{answers:?}"
    );

    // A file broken: refused with its line in the log, the old version serves on.
    let broken = file("gamma").replace("time_zone = \"UTC\"", "time_zone = \"Mars/Olympus\"");
    let line = broken
        .lines()
        .position(|l| l.contains("Mars/Olympus"))
        .unwrap()
        + 1;
    write("gamma", &broken);
    adapter.hang_up();
    let said = format!("gamma.toml:{line}: practice.time_zone");
    crate::helpers::eventually("the broken file refused", 10, || async {
        adapter.log().contains(&said)
    })
    .await;
    assert_eq!(
        shown_name(&client, base, "gamma").await.as_deref(),
        Ok("Practice gamma")
    );
}

/// A busy feed that holds its first asker a second (then closes), and says
/// when it was asked: a practice's start under way.
fn slow_feed() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/busy.ics", listener.local_addr().unwrap());
    let (asked, asking) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((_connection, _)) = listener.accept() {
            let _ = asked.send(());
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    (url, asking)
}

#[tokio::test]
async fn a_sighup_while_the_practices_start_ends_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    let (feed, asked) = slow_feed();
    let port = crate::helpers::closed_port();
    let text = practice_file(folder.path(), "alpha", port, Some(&feed));
    std::fs::write(dir.join("alpha.toml"), text).unwrap();
    let starting = Process::starting(folder.path(), &dir);
    asked
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("alpha's start reads its busy feed");
    starting.hang_up();
    let adapter = starting.serving();
    let client = reqwest::Client::new();
    let base = adapter.base.as_str();
    assert_eq!(
        shown_name(&client, base, "alpha").await.as_deref(),
        Ok("Practice alpha")
    );
}

/// `check-config --config-dir dir`.
fn check_folder(dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["check-config", "--config-dir"])
        .arg(dir)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_folder_with_a_broken_file_is_refused_at_its_line_by_check_config_and_at_start() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    let port = crate::helpers::closed_port();
    std::fs::write(
        dir.join("alpha.toml"),
        practice_file(folder.path(), "alpha", port, None),
    )
    .unwrap();
    let checked = check_folder(&dir);
    assert!(checked.status.success(), "{checked:?}");
    assert!(String::from_utf8_lossy(&checked.stdout).contains("ok (1 practice(s))"));

    let broken = practice_file(folder.path(), "beta", port, None)
        .replace("time_zone = \"UTC\"", "time_zone = \"Mars/Olympus\"");
    let line = broken
        .lines()
        .position(|l| l.contains("Mars/Olympus"))
        .unwrap()
        + 1;
    std::fs::write(dir.join("beta.toml"), broken).unwrap();
    std::fs::write(
        dir.join("Beta Two.toml"),
        practice_file(folder.path(), "gamma", port, None),
    )
    .unwrap();
    let checked = check_folder(&dir);
    assert!(!checked.status.success());
    let said = String::from_utf8_lossy(&checked.stderr);
    let beta = format!(
        "{}:{line}: practice.time_zone",
        dir.join("beta.toml").display()
    );
    let named = format!(
        "{}: the file's name is the practice's id",
        dir.join("Beta Two.toml").display()
    );
    assert!(said.contains(&beta) && said.contains(&named), "{said}");

    let overrides = ServerOverrides {
        listen: Some("127.0.0.1:0".into()),
        store: Some(store_in(folder.path())),
    };
    let refused = Application::build_practices(&dir, overrides, Clock::movable().0).await;
    let error = format!("{:#}", refused.err().expect("the start is refused"));
    assert!(error.contains(&beta) && error.contains(&named), "{error}");
}

/// Each practice's widget is on its own site: `server.allowed_origins` is
/// the practice's (its files may differ there and nowhere else in
/// `[server]`), and one practice's site gets no CORS answer from another.
#[tokio::test]
async fn each_practice_allows_its_own_sites_origin() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("practices");
    std::fs::create_dir(&dir).unwrap();
    for id in ["alpha", "beta"] {
        let file = practice_file(folder.path(), id, crate::helpers::closed_port(), None).replace(
            "allowed_origins = [\"https://practice.example.org\"]",
            &format!("allowed_origins = [\"https://{id}.example.org\"]"),
        );
        std::fs::write(dir.join(format!("{id}.toml")), file).unwrap();
    }
    let app = serve(folder.path(), &dir).await;
    assert_eq!(app.practices.ids(), ["alpha", "beta"]);
    let allowed = |practice: &str, site: &str| {
        let request = app
            .client
            .request(
                Method::OPTIONS,
                app.url(&format!("/p/{practice}/v1/bookings")),
            )
            .header("Origin", format!("https://{site}.example.org"))
            .header("Access-Control-Request-Method", "POST")
            .send();
        async move {
            let response = request.await.unwrap();
            response
                .headers()
                .get("access-control-allow-origin")
                .map(|value| value.to_str().unwrap().to_owned())
        }
    };
    assert_eq!(
        allowed("alpha", "alpha").await.as_deref(),
        Some("https://alpha.example.org")
    );
    assert_eq!(
        allowed("beta", "beta").await.as_deref(),
        Some("https://beta.example.org")
    );
    assert_eq!(allowed("alpha", "beta").await, None);
    assert_eq!(allowed("beta", "alpha").await, None);
}
