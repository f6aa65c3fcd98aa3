//! The HTML pages emails link to — answering a request (`/requests/…`) and
//! the visitor's own page (`/manage/…`) — and the demo page: in every state
//! each is sent with its exact policy headers, tells the truth about the
//! booking, and shows visitors' text escaped.

use chrono::Duration;
use firststep_adapter::mail::signed_link;
use firststep_adapter::store::Answer;
use firststep_protocol::{BookingCreated, BookingStatus};
use serde_json::json;

use crate::helpers::{booking_body, new_key, spawn_app_with, TestApp, CONFIG};
use crate::lifecycle::{spawn_with_mail, SECRET};
use crate::smtp_server::SmtpServer;

/// The policy of the answer and manage pages, written out here so a change
/// to it shows up as a failing test.
const PAGE_CSP: &str =
    "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Checks `response` is a page with `status` and the pages' headers, each
/// present once and exact; returns its HTML.
async fn page(response: reqwest::Response, status: u16) -> String {
    let url = response.url().path().to_owned();
    assert_eq!(response.status().as_u16(), status, "{url}");
    let headers = response.headers();
    for (name, value) in [
        ("content-type", "text/html; charset=utf-8"),
        ("content-security-policy", PAGE_CSP),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        let values: Vec<_> = headers.get_all(name).iter().collect();
        assert_eq!(values, [value], "{name} of {url}");
    }
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    html
}

/// A pending request from `name`, with `note`.
async fn request(app: &TestApp, name: &str, note: Option<&str>) -> BookingCreated {
    let mut body = booking_body(app.a_free_slot().await);
    body["client"]["name"] = json!(name);
    body["note"] = json!(note);
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The practice's link to answer `created`, valid for an hour.
fn answer_link(app: &TestApp, created: &BookingCreated, answer: Answer) -> String {
    app.url(&signed_link::path(
        SECRET,
        &created.booking.id,
        0,
        answer,
        app.now() + Duration::hours(1),
    ))
}

fn manage_link(app: &TestApp, created: &BookingCreated) -> String {
    app.url(&format!(
        "/manage/{}?token={}",
        created.booking.id, created.manage_token
    ))
}

async fn status(app: &TestApp, created: &BookingCreated) -> BookingStatus {
    app.view(created).await.status
}

// ---- Answering a request ----

/// Both pages of `link`, shown and pressed, answer 410 with `heading` and
/// no button to press.
async fn refused_with(app: &TestApp, link: &str, heading: &str) {
    let shown = page(app.client.get(link).send().await.unwrap(), 410).await;
    let pressed = page(app.client.post(link).send().await.unwrap(), 410).await;
    for html in [shown, pressed] {
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")) && !html.contains("<form"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn a_valid_link_shows_the_request_and_a_button_and_changes_nothing() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;

    for (answer, button) in [
        (
            Answer::Confirm,
            "<button type=\"submit\">Confirm this request</button>",
        ),
        (
            Answer::Decline,
            "<button type=\"submit\">Decline this request</button>",
        ),
    ] {
        let link = answer_link(&app, &created, answer);
        let html = page(app.client.get(&link).send().await.unwrap(), 200).await;
        assert!(html.contains(button), "{html}");
        assert!(html.contains("Sam Lee — ") && html.contains("Free 15-minute consultation"));
    }
    assert_eq!(status(&app, &created).await, BookingStatus::Pending);
}

#[tokio::test]
async fn the_button_answers_and_a_reused_link_says_the_request_was_already_answered() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    let confirm = answer_link(&app, &created, Answer::Confirm);
    let decline = answer_link(&app, &created, Answer::Decline);

    let done = page(app.client.post(&confirm).send().await.unwrap(), 200).await;
    assert!(done.contains("<h1>Confirmed</h1>"), "{done}");
    assert_eq!(status(&app, &created).await, BookingStatus::Confirmed);

    // Pressed again, opened again, or the other link opened: each says so, with no button.
    let reused = page(app.client.post(&confirm).send().await.unwrap(), 410).await;
    let reopened = page(app.client.get(&confirm).send().await.unwrap(), 410).await;
    let other = page(app.client.get(&decline).send().await.unwrap(), 410).await;
    for html in [&reused, &reopened, &other] {
        assert!(
            html.contains("<h1>This request was already confirmed</h1>"),
            "{html}"
        );
        assert!(
            html.contains("Sam Lee — ") && !html.contains("<form"),
            "{html}"
        );
    }
    let refused = page(app.client.post(&decline).send().await.unwrap(), 410).await;
    assert!(refused.contains("already confirmed"), "{refused}");
    assert_eq!(status(&app, &created).await, BookingStatus::Confirmed);
}

#[tokio::test]
async fn a_declined_request_says_so_on_the_first_page_of_either_link() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    let decline = answer_link(&app, &created, Answer::Decline);

    let done = page(app.client.post(&decline).send().await.unwrap(), 200).await;
    assert!(done.contains("<h1>Declined</h1>"), "{done}");

    for answer in [Answer::Confirm, Answer::Decline] {
        let link = answer_link(&app, &created, answer);
        refused_with(&app, &link, "This request was already declined").await;
    }
    assert_eq!(status(&app, &created).await, BookingStatus::Declined);
}

#[tokio::test]
async fn a_request_the_visitor_cancelled_says_so_on_its_first_page() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    app.cancel(&created).await;

    let confirm = answer_link(&app, &created, Answer::Confirm);
    refused_with(&app, &confirm, "The visitor cancelled this request").await;
    assert_eq!(status(&app, &created).await, BookingStatus::Cancelled);
}

#[tokio::test]
async fn a_request_that_expired_unanswered_says_so_on_its_first_page() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    app.advance_past(created.booking.expires_at.expect("a request lapses"));

    let confirm = answer_link(&app, &created, Answer::Confirm);
    refused_with(&app, &confirm, "This request expired unanswered").await;
    assert_eq!(status(&app, &created).await, BookingStatus::Expired);
}

#[tokio::test]
async fn an_expired_link_is_refused_on_both_pages() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    let expired = answer_link(&app, &created, Answer::Confirm);
    app.advance(Duration::hours(1) + Duration::minutes(1));

    refused_with(&app, &expired, "This link has expired").await;
    assert_eq!(status(&app, &created).await, BookingStatus::Pending);
}

#[tokio::test]
async fn forged_and_malformed_links_are_refused_on_both_pages() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    let id = &created.booking.id;
    let good = answer_link(&app, &created, Answer::Confirm);
    let forged = [
        good.replace("/confirm?", "/decline?"),
        good.replace("/confirm?", "/delete?"),
        good.replace("&sig=", "&sig=0"),
        good.split("&sig=").next().unwrap().to_owned(),
        app.url(&format!("/requests/{id}/confirm")),
        app.url(&signed_link::path(
            "some-other-secret-of-32-characters!!",
            id,
            0,
            Answer::Confirm,
            app.now() + Duration::hours(1),
        )),
        // Not UTF-8 once decoded: refused by the page, not by the router's plain text.
        app.url("/requests/%FF%FE/confirm?expires=1&sig=00"),
    ];
    for link in &forged {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = app.client.request(method, link).send().await.unwrap();
            let html = page(response, 403).await;
            assert!(html.contains("<h1>This link is not valid</h1>"), "{link}");
        }
    }
    assert_eq!(status(&app, &created).await, BookingStatus::Pending);
}

#[tokio::test]
async fn a_signed_link_to_a_request_that_does_not_exist_is_refused() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let unknown = app.url(&signed_link::path(
        SECRET,
        "bk_0000000000000000",
        0,
        Answer::Confirm,
        app.now() + Duration::hours(1),
    ));

    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let response = app.client.request(method, &unknown).send().await.unwrap();
        let html = page(response, 403).await;
        assert!(html.contains("<h1>This link is not valid</h1>"), "{html}");
    }
}

#[tokio::test]
async fn without_mail_configured_answer_links_are_refused() {
    let app = spawn_app_with(CONFIG).await;
    let created = app.book(app.a_free_slot().await).await;
    let link = answer_link(&app, &created, Answer::Confirm);

    let html = page(app.client.get(&link).send().await.unwrap(), 403).await;
    assert!(html.contains("This link is not valid"), "{html}");
}

#[tokio::test]
async fn the_visitors_name_and_note_show_escaped_on_the_answer_page() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let name = "Sam <script>alert(\"x\")</script> O'Neil & Co";
    let note = "<img src=x onerror=alert(1)>\nTom & \"Jerry\" 'quoted'";
    let created = request(&app, name, Some(note)).await;

    let html = page(
        app.client
            .get(answer_link(&app, &created, Answer::Confirm))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    assert!(
        html.contains(
            "Sam &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#39;Neil &amp; Co — "
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<blockquote>&lt;img src=x onerror=alert(1)&gt;<br>\
             Tom &amp; &quot;Jerry&quot; &#39;quoted&#39;</blockquote>"
        ),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
}

// ---- The visitor's manage page ----

#[tokio::test]
async fn the_manage_page_shows_the_booking_and_a_cancel_button() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;

    let html = page(
        app.client
            .get(manage_link(&app, &created))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    assert!(
        html.contains("<h1>Your booking with Test Practice</h1>"),
        "{html}"
    );
    assert!(html.contains("Status: <strong>pending</strong>"), "{html}");
    assert!(html.contains(&format!(
        "<form method=\"post\" action=\"/manage/{}/cancel\">",
        created.booking.id
    )));
    assert!(html.contains("Cancel this booking</button>"), "{html}");
}

#[tokio::test]
async fn a_wrong_token_an_unknown_booking_or_a_bad_address_reads_as_not_found() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    let id = &created.booking.id;
    let cancel = app.url(&format!("/manage/{id}/cancel"));

    let shown = [
        app.url(&format!("/manage/{id}?token=guess")),
        app.url(&format!("/manage/{id}")),
        app.url(&format!(
            "/manage/bk_0000000000000000?token={}",
            created.manage_token
        )),
        app.url("/manage/not-an-id?token=x"),
        app.url("/manage/%FF%FE?token=x"),
    ];
    for link in &shown {
        let html = page(app.client.get(link).send().await.unwrap(), 404).await;
        assert!(html.contains("<h1>Booking not found</h1>"), "{link}");
    }
    let pressed = [
        app.client.post(&cancel).form(&[("token", "guess")]),
        app.client.post(&cancel),
        // A body that is not a form at all.
        app.client
            .post(&cancel)
            .header("content-type", "application/json")
            .body(format!("{{\"token\":\"{}\"}}", created.manage_token)),
        app.client
            .post(app.url("/manage/%FF%FE/cancel"))
            .form(&[("token", created.manage_token.as_str())]),
    ];
    for request in pressed {
        let html = page(request.send().await.unwrap(), 404).await;
        assert!(html.contains("<h1>Booking not found</h1>"), "{html}");
    }
    assert_eq!(status(&app, &created).await, BookingStatus::Pending);
}

#[tokio::test]
async fn cancelling_says_so_and_a_second_press_changes_nothing() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, "Sam Lee", None).await;
    let cancel = app.url(&format!("/manage/{}/cancel", created.booking.id));
    let press = || {
        app.client
            .post(&cancel)
            .form(&[("token", created.manage_token.as_str())])
            .send()
    };

    let done = page(press().await.unwrap(), 200).await;
    assert!(
        done.contains("Status: <strong>cancelled</strong>"),
        "{done}"
    );
    assert!(
        done.contains(
            "<p role=\"status\">Your booking is cancelled. The practice has been told.</p>"
        ),
        "{done}"
    );
    assert!(!done.contains("<form"), "nothing left to cancel: {done}");

    let again = page(press().await.unwrap(), 200).await;
    assert!(
        again.contains("Status: <strong>cancelled</strong>")
            && !again.contains("role=\"status\"")
            && !again.contains("<form"),
        "{again}"
    );
    let reopened = page(
        app.client
            .get(manage_link(&app, &created))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(
        reopened.contains("Status: <strong>cancelled</strong>") && !reopened.contains("<form"),
        "{reopened}"
    );
    assert_eq!(status(&app, &created).await, BookingStatus::Cancelled);
}

#[tokio::test]
async fn the_manage_page_of_a_closed_request_offers_no_button() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let expired = request(&app, "Sam Lee", None).await;
    let declined = request(&app, "Sam Lee", None).await;
    app.advance_past(expired.booking.expires_at.expect("a request lapses"));
    let decline = answer_link(&app, &declined, Answer::Decline);
    page(app.client.post(&decline).send().await.unwrap(), 200).await;

    for (created, shown) in [(&expired, "expired"), (&declined, "declined")] {
        let html = page(
            app.client
                .get(manage_link(&app, created))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert!(
            html.contains(&format!("Status: <strong>{shown}</strong>")) && !html.contains("<form"),
            "{html}"
        );
    }
}

// ---- The demo page ----

#[tokio::test]
async fn the_demo_page_is_served_with_its_policy() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("index.html"),
        "<!doctype html><title>Demo</title>",
    )
    .unwrap();
    let config = CONFIG.replace(
        "[server]\n",
        &format!(
            "[server]\ndemo_dir = {:?}\n",
            folder.path().display().to_string()
        ),
    );
    let app = spawn_app_with(&config).await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    let csp: Vec<_> = response
        .headers()
        .get_all("content-security-policy")
        .iter()
        .collect();
    assert_eq!(
        csp,
        [
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
             style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ]
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("<title>Demo</title>"));
}

#[tokio::test]
async fn the_widgets_quick_look_page_cannot_be_framed() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("index.html"),
        "<!doctype html><title>First Step widget</title>",
    )
    .unwrap();
    std::fs::write(folder.path().join("firststep.js"), "export {};").unwrap();
    let config = CONFIG.replace(
        "[server]\n",
        &format!(
            "[server]\nwidget_dir = {:?}\n",
            folder.path().display().to_string()
        ),
    );
    let app = spawn_app_with(&config).await;

    for path in ["/widget/index.html", "/widget/firststep.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let csp: Vec<_> = response
            .headers()
            .get_all("content-security-policy")
            .iter()
            .collect();
        assert_eq!(csp, ["frame-ancestors 'none'"], "{path}");
    }
}

/// The build writes a Brotli and a gzip copy beside each widget file: each
/// browser gets the smallest copy it can read, as Chromium asks for it.
#[tokio::test]
async fn the_widget_is_served_as_brotli_to_browsers_that_take_it_and_as_gzip_to_the_rest() {
    let folder = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| std::fs::write(folder.path().join(name), bytes).unwrap();
    file("firststep-widget_bg.wasm", b"raw wasm");
    file("firststep-widget_bg.wasm.gz", b"gzip copy");
    file("firststep-widget_bg.wasm.br", b"brotli copy");
    let config = CONFIG.replace(
        "[server]\n",
        &format!(
            "[server]\nwidget_dir = {:?}\n",
            folder.path().display().to_string()
        ),
    );
    let app = spawn_app_with(&config).await;

    for (accepts, encoding, body) in [
        (Some("gzip, deflate, br, zstd"), Some("br"), "brotli copy"),
        (Some("br;q=0.5, gzip"), Some("gzip"), "gzip copy"),
        (Some("gzip, deflate"), Some("gzip"), "gzip copy"),
        (None, None, "raw wasm"),
    ] {
        let mut request = app.client.get(app.url("/widget/firststep-widget_bg.wasm"));
        if let Some(accepts) = accepts {
            request = request.header("accept-encoding", accepts);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{accepts:?}");
        let headers = response.headers();
        assert_eq!(
            headers.get("content-encoding").map(|v| v.to_str().unwrap()),
            encoding,
            "{accepts:?}"
        );
        assert_eq!(headers["content-type"], "application/wasm", "{accepts:?}");
        assert!(
            headers["vary"]
                .to_str()
                .unwrap()
                .contains("accept-encoding"),
            "{accepts:?}"
        );
        assert_eq!(response.text().await.unwrap(), body, "{accepts:?}");
    }
}
