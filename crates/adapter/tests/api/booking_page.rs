//! `/book` and `/book/{service}`: the hosted booking page, and the whole
//! booking on it with no script — day links, time links, the zone form,
//! the POST form with its checks, idempotency and rate limit.

use firststep_protocol::SlotList;

use crate::helpers::{booking_body, iso, new_key, spawn_app, spawn_app_with, TestApp, CONFIG};

/// The page's policy: the demo page's, with forms posting back here.
const BOOK_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every `href` in `html` that starts with `prefix`, unescaped.
pub fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .filter(|href| href.starts_with(prefix))
        .collect()
}

/// The value of the form input named `name`.
pub fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}"));
    let rest = &html[at..];
    let value = rest.split("value=\"").nth(1).expect("a value");
    value.split('"').next().unwrap().replace("&amp;", "&")
}

/// `application/x-www-form-urlencoded`, as a browser sends it.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", "en")
        .body(form_body(fields))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The form for the first open time of `service`: its page and the time's link.
async fn first_time_form(app: &TestApp, service: &str) -> (String, String) {
    let path = format!("/book/{service}");
    let (status, days) = page(app, &path).await;
    assert_eq!(status, 200);
    let time = links(&days, "?time=")
        .into_iter()
        .next()
        .expect("a time link");
    let (status, form) = page(app, &format!("{path}{time}")).await;
    assert_eq!(status, 200, "{form}");
    (form, time)
}

/// The fields of `form` as filled in by a visitor.
pub fn filled<'a>(form: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let mut fields: Vec<(&str, String)> = ["start", "zone", "key"]
        .into_iter()
        .map(|name| (name, input_value(form, name)))
        .collect();
    fields.extend(
        [
            ("name", "Sam Lee"),
            ("email", "sam@example.org"),
            ("phone", ""),
            ("note", ""),
            ("consent", "yes"),
            ("website", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned())),
    );
    for (name, value) in overrides {
        fields.retain(|(k, _)| k != name);
        if !value.is_empty() || *name != "consent" {
            fields.push((name, (*value).to_owned()));
        }
    }
    fields
}

pub async fn send(app: &TestApp, service: &str, fields: &[(&str, String)]) -> (u16, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(app, &format!("/book/{service}"), &fields).await
}

#[tokio::test]
async fn the_page_names_the_practice_carries_the_widget_and_its_policy() {
    let app = spawn_app().await;
    let response = app.get("/book/intake").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-security-policy"], BOOK_CSP);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("<h1>Book with Test Practice</h1>"));
    assert!(html.contains("<main>"));
    assert!(html.contains("In a crisis, call your local emergency number."));
    assert!(html.contains("<firststep-booking api=\"/\" service=\"intake\" locale=\"en\">"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/book.css\">"));
    // No widget directory configured: no script to load.
    assert!(!html.contains("<script"));
    // The no-script booking is inside the element, shown until the widget starts.
    let inside = html
        .split("<firststep-booking")
        .nth(1)
        .and_then(|rest| rest.split("</firststep-booking>").next())
        .unwrap();
    assert!(
        !links(inside, "?time=").is_empty(),
        "times inside the element"
    );
    assert!(
        !links(inside, "?day=").is_empty(),
        "days inside the element"
    );
    assert!(inside.contains("All times are in the UTC time zone"));
}

/// An adapter serving a widget (a stand-in loader) from a directory of its own.
async fn spawn_with_widget() -> (TestApp, tempfile::TempDir) {
    spawn_with_widget_in(CONFIG).await
}

/// An app on `config` that serves a widget (only its loader, a stand-in).
pub async fn spawn_with_widget_in(config: &str) -> (TestApp, tempfile::TempDir) {
    let widget = tempfile::tempdir().unwrap();
    std::fs::write(widget.path().join("firststep.js"), "// widget").unwrap();
    let config = config.replace(
        "[server]\n",
        &format!("[server]\nwidget_dir = \"{}\"\n", widget.path().display()),
    );
    (spawn_app_with(&config).await, widget)
}

pub const LOADER: &str = "<script type=\"module\" src=\"/widget/firststep.js\"></script>";

#[tokio::test]
async fn with_a_widget_directory_the_page_loads_the_widget_and_hints_its_code() {
    let (app, _widget) = spawn_with_widget().await;
    let (_, html) = page(&app, "/book/intake").await;
    assert!(html.contains(LOADER));
    assert_eq!(app.get("/widget/firststep.js").await.status(), 200);
    // The widget's code is asked for beside the loader, as on the demo page.
    let head = html.split("</head>").next().unwrap();
    assert!(head.contains("<link rel=\"modulepreload\" href=\"/widget/firststep-widget.js\">"));
    assert!(head.contains(
        "<link rel=\"preload\" href=\"/widget/firststep-widget_bg.wasm\" as=\"fetch\" type=\"application/wasm\" crossorigin>"
    ));
}

/// A visitor may choose a time before the widget has started (on a phone,
/// the page's own times show well before it does). From there each page
/// carries what they chose or were told, and no widget: started, it would
/// cover that with its own first step.
#[tokio::test]
async fn a_page_with_the_visitors_choice_or_an_answer_has_no_widget_to_cover_it() {
    let (app, _widget) = spawn_with_widget().await;
    let (form, time) = first_time_form(&app, "intake").await;
    assert!(form.contains("Your chosen time: "), "{form}");
    let (status, problems) = send(&app, "intake", &filled(&form, &[("name", "")])).await;
    assert_eq!(status, 422, "{problems}");
    let (status, booked) = send(&app, "intake", &filled(&form, &[])).await;
    assert_eq!(status, 200, "{booked}");
    assert!(booked.contains("Your consultation is booked."), "{booked}");
    let (status, gone) = page(&app, &format!("/book/intake{time}")).await;
    assert_eq!(status, 200);
    assert!(gone.contains("That time is no longer open."), "{gone}");
    let (other_form, other) = first_time_form(&app, "free-consultation").await;
    let start = other.trim_start_matches("?time=").parse().unwrap();
    assert_eq!(
        app.post_booking(&new_key(), &booking_body(start))
            .await
            .status(),
        201
    );
    let (status, taken) = send(&app, "free-consultation", &filled(&other_form, &[])).await;
    assert_eq!(status, 409, "{taken}");
    let answers = [
        ("form", &form),
        ("problems", &problems),
        ("booked", &booked),
        ("gone", &gone),
        ("taken", &taken),
    ];
    for (what, html) in answers {
        assert!(!html.contains("/widget/"), "{what}: {html}");
        // Inside the same element, styled as the first step is.
        assert!(html.contains("<firststep-booking "), "{what}: {html}");
    }
    // A day, more days or a zone chosen on the page: the widget would show
    // its own first open day, in the browser's zone, over the choice.
    let (_, days) = page(&app, "/book/intake").await;
    let day = links(&days, "?day=").pop().expect("a day link");
    let later = links(&days, "?from=").pop().expect("a later days link");
    for path in [
        format!("/book/intake{day}"),
        format!("/book/intake{later}"),
        "/book/intake?zone=Europe/Madrid".to_owned(),
        "/book/intake?zone=Mars/Olympus".to_owned(),
    ] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("/widget/"), "{path}: {html}");
        assert!(html.contains("<firststep-booking "), "{path}: {html}");
    }
    // The days as a visitor opens them have it, with an empty or unreadable
    // choice too (the page shows its first days then).
    for path in [
        "/book/intake",
        "/book/intake?zone=&day=",
        "/book/intake?day=soon&from=x",
    ] {
        assert!(page(&app, path).await.1.contains(LOADER), "{path}");
    }
}

#[tokio::test]
async fn book_alone_lists_the_services_or_shows_the_only_one() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/book").await;
    assert_eq!(status, 200);
    assert_eq!(
        links(&html, "/book/"),
        ["/book/free-consultation", "/book/intake"]
    );
    assert!(html.contains("Choose a service"));

    let one = spawn_app_with(&CONFIG.replace(crate::helpers::INTAKE_SERVICE, "")).await;
    let (status, html) = page(&one, "/book").await;
    assert_eq!(status, 200);
    assert!(html.contains("service=\"free-consultation\""));
    assert!(!links(&html, "?time=").is_empty());

    let (status, html) = page(&app, "/book/no-such-service").await;
    assert_eq!(status, 404);
    assert!(html.contains("There is no such service here."));
}

#[tokio::test]
async fn a_whole_booking_without_script_books_once_and_links_to_it() {
    let app = spawn_app().await;
    let (form, time) = first_time_form(&app, "intake").await;
    let start = time.trim_start_matches("?time=").to_owned();
    assert!(form.contains("<form method=\"post\" action=\"/book/intake\""));
    assert!(form.contains("Your chosen time: "));
    let fields = filled(&form, &[]);

    let (status, done) = send(&app, "intake", &fields).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Booked"), "{done}");
    assert!(done.contains("Your consultation is booked."));
    let manage = links(&done, "/manage/");
    let ics = links(&done, "/v1/bookings/");
    assert_eq!(manage.len(), 1, "{done}");
    assert!(ics[0].contains("/calendar.ics?token="));

    // The links lead to the booking.
    let (status, managed) = page(&app, &manage[0]).await;
    assert_eq!(status, 200);
    assert!(managed.contains("confirmed"), "{managed}");
    let calendar = app.get(&ics[0]).await;
    assert_eq!(calendar.status(), 200);
    assert!(calendar.text().await.unwrap().contains("STATUS:CONFIRMED"));

    // A second press of the same form: the same answer, no second booking.
    let (status, again) = send(&app, "intake", &fields).await;
    assert_eq!(status, 200);
    assert_eq!(links(&again, "/manage/"), manage);
    let slots: SlotList = app
        .get(&format!(
            "/v1/slots?service=intake&from={start}&to={}",
            iso(start.parse::<chrono::DateTime<chrono::Utc>>().unwrap()
                + chrono::Duration::hours(1))
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(slots.slots.iter().all(|s| iso(s.start) != start), "taken");
}

#[tokio::test]
async fn every_wrong_field_is_shown_beside_it_with_what_was_typed() {
    let app = spawn_app().await;
    let (form, _) = first_time_form(&app, "free-consultation").await;
    let fields = filled(
        &form,
        &[
            ("name", "<b>Sam</b>"),
            ("email", "not-an-address"),
            ("consent", ""),
        ],
    );
    let (status, html) = send(&app, "free-consultation", &fields).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Please check the fields marked below."));
    assert!(html.contains(
        "<p class=\"fs-problem\" id=\"fs-email-problem\">Please enter an email address like name@example.org.</p>"
    ));
    assert!(
        html.contains("id=\"fs-consent-problem\">Please agree so the practice can contact you.")
    );
    assert!(!html.contains("fs-name-problem"), "the name is fine");
    // What was typed is kept, escaped.
    assert!(html.contains("value=\"&lt;b&gt;Sam&lt;/b&gt;\""), "{html}");
    assert!(html.contains("value=\"not-an-address\""));
    // Corrected, the same form books.
    let fixed = filled(&html, &[]);
    let (status, done) = send(&app, "free-consultation", &fixed).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Request sent"));
}

#[tokio::test]
async fn a_filled_honeypot_is_refused() {
    let app = spawn_app().await;
    let (form, _) = first_time_form(&app, "intake").await;
    let (status, html) = send(
        &app,
        "intake",
        &filled(&form, &[("website", "spam.example")]),
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"fs-website-problem\""));
}

#[tokio::test]
async fn a_time_taken_meanwhile_shows_the_days_times_again() {
    let app = spawn_app().await;
    let (form, time) = first_time_form(&app, "free-consultation").await;
    let start: chrono::DateTime<chrono::Utc> = time.trim_start_matches("?time=").parse().unwrap();
    // Someone else books it through the API first.
    let taken = app.post_booking(&new_key(), &booking_body(start)).await;
    assert_eq!(taken.status(), 201);

    let (status, html) = send(&app, "free-consultation", &filled(&form, &[])).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Sorry, that time was just taken by someone else."));
    assert!(!links(&html, "?time=").is_empty(), "other times offered");
    assert!(
        !html.contains(&format!("?time={}", iso(start))),
        "not the taken one"
    );

    // Following the old link now says the time is gone.
    let (status, html) = page(&app, &format!("/book/free-consultation{time}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("That time is no longer open."));
}

#[tokio::test]
async fn the_visitor_chooses_the_zone_and_the_page_says_it() {
    let app = spawn_app().await;
    let (_, html) = page(&app, "/book/intake?zone=America/New_York").await;
    assert!(
        html.contains("All times are in the America/New_York time zone (UTC-05:00 on that day)."),
        "{html}"
    );
    assert!(html.contains("<option selected>America/New_York</option>"));
    let day = links(&html, "?day=").into_iter().next().unwrap();
    assert!(day.ends_with("&zone=America/New_York"), "{day}");

    let (_, html) = page(&app, "/book/intake?zone=Mars/Olympus").await;
    assert!(html.contains("That time zone is not known"));
    assert!(html.contains("All times are in the UTC time zone"));
}

#[tokio::test]
async fn the_page_speaks_spanish_when_the_browser_prefers_it() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/book/intake"))
        .header("accept-language", "es-MX,es;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"es\">"));
    assert!(html.contains("Reservar con Test Practice"));
    assert!(html.contains("Elija un día"));
}

#[tokio::test]
async fn the_forms_attempts_count_against_the_same_rate_limit() {
    let app =
        spawn_app_with(&CONFIG.replace("bookings_per_minute = 100000", "bookings_per_minute = 1"))
            .await;
    let (form, _) = first_time_form(&app, "intake").await;
    let wrong = filled(&form, &[("email", "nope")]);
    let (status, _) = send(&app, "intake", &wrong).await;
    assert_eq!(status, 422);
    let (status, html) = send(&app, "intake", &wrong).await;
    assert_eq!(status, 429);
    assert!(html.contains("That was a lot of attempts."));
}

#[tokio::test]
async fn the_stylesheet_carries_the_configured_theme() {
    let config = format!(
        "{CONFIG}\n[page]\naccent = \"#123abc\"\nradius = \"4px\"\nfont = \"Georgia, serif\"\n"
    );
    let app = spawn_app_with(&config).await;
    let response = app.get("/book.css").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    let css = response.text().await.unwrap();
    assert!(
        css.contains(":root { --firststep-accent: #123abc; --firststep-radius: 4px; --firststep-font: Georgia, serif; }"),
        "{css}"
    );
}

/// A request the form cannot have made is refused, not a panic.
#[tokio::test]
async fn a_form_without_its_hidden_fields_is_refused() {
    let app = spawn_app().await;
    let (status, html) = post_form(&app, "/book/intake", &[("name", "Sam")]).await;
    assert_eq!(status, 400);
    assert!(html.contains("The form could not be read."));
    let (status, _) = post_form(&app, "/book/intake", &[("start", "x"), ("key", "k")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_time_never_offered_is_refused_with_the_days_times() {
    let app = spawn_app().await;
    let (form, _) = first_time_form(&app, "intake").await;
    let key = input_value(&form, "key");
    let past = iso(app.now() - chrono::Duration::days(3));
    let fields = [
        ("start", past.as_str()),
        ("zone", "UTC"),
        ("key", key.as_str()),
        ("name", "Sam"),
        ("email", "sam@example.org"),
        ("consent", "yes"),
    ];
    let (status, html) = post_form(&app, "/book/intake", &fields).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Sorry, that time was just taken"));
}

/// Whatever the query says, the page answers (at worst "start again"), never a panic.
#[tokio::test]
async fn hostile_queries_get_a_page() {
    let app = spawn_app().await;
    for query in [
        "?day=9999-12-31",
        "?from=0001-01-01&day=2026-02-30",
        "?time=garbage&zone=%00",
        "?time=9999-12-31T23:59:59Z",
        "?time=0001-01-01T00:00:00Z&zone=Pacific/Kiritimati",
        "?zone=../../etc/passwd&day=%FF",
    ] {
        let response = app.get(&format!("/book/intake{query}")).await;
        let status = response.status().as_u16();
        assert!(matches!(status, 200 | 400), "{query}: {status}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1>Book with Test Practice</h1>"), "{query}");
    }
}

#[tokio::test]
async fn the_day_list_pages_by_two_weeks_up_to_the_horizon() {
    let app = spawn_app().await; // horizon_days = 30
    let today = app.now().date_naive();
    let (_, first) = page(&app, "/book/intake").await;
    let later = links(&first, "?from=");
    assert_eq!(later, [format!("?from={}", today + chrono::Days::new(14))]);
    let (_, second) = page(&app, &format!("/book/intake{}", later[0])).await;
    assert_eq!(
        links(&second, "?from="),
        [
            format!("?from={today}"),
            format!("?from={}", today + chrono::Days::new(28))
        ]
    );
    let beyond = format!("/book/intake?from={}", today + chrono::Days::new(28));
    let (_, last) = page(&app, &beyond).await;
    assert_eq!(
        links(&last, "?from=").len(),
        1,
        "only earlier dates past the horizon"
    );
    assert!(last.contains("Earlier dates"));
}

/// A service by phone says so before the visitor commits, needs the number,
/// and the answer says the practice will call it.
#[tokio::test]
async fn a_phone_service_needs_the_number_and_says_how_it_happens() {
    let config = CONFIG.replace(
        "duration_minutes = 50\nmode = \"instant\"\n",
        "duration_minutes = 50\nmode = \"instant\"\nlocation = \"phone\"\n",
    );
    let app = spawn_app_with(&config).await;
    let (form, _) = first_time_form(&app, "intake").await;
    assert!(form.contains("How: Phone call"), "{form}");
    assert!(form.contains("Phone (required)"));

    let (status, html) = send(&app, "intake", &filled(&form, &[])).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"fs-phone-problem\""));
    let (status, done) = send(&app, "intake", &filled(&html, &[("phone", "+1 555 0100")])).await;
    assert_eq!(status, 200, "{done}");
    assert!(
        done.contains("The practice will call you at +1 555 0100."),
        "{done}"
    );
}
