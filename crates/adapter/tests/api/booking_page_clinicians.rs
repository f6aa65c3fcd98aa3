//! The hosted booking page of a group practice, without script: "first
//! available" or a clinician chosen by link, their times only, and the form
//! booking with them.

use crate::booking_page::{filled, input_value, links, page, send, spawn_with_widget_in, LOADER};
use crate::clinicians::group;
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn the_page_offers_first_available_and_each_clinician_and_books_with_the_one_chosen() {
    let app = spawn_app_with(&group("")).await;

    // Who offers the service, each a link; first available is the current choice.
    let (status, days) = page(&app, "/book/free-consultation").await;
    assert_eq!(status, 200);
    assert!(days.contains("With whom"), "{days}");
    assert!(
        days.contains("aria-current=\"true\" href=\"?\">First available</a>"),
        "{days}"
    );
    assert!(
        days.contains("Dana Whitfield (she/her)</a><br><small>Couples and family therapy.</small>")
    );
    assert_eq!(
        links(&days, "?clinician="),
        ["?clinician=dana", "?clinician=lee"]
    );
    let (_, intake) = page(&app, "/book/intake").await;
    assert_eq!(
        links(&intake, "?clinician="),
        ["?clinician=lee"],
        "only Lee offers it"
    );

    // Dana chosen: her times, every link keeping her, the widget told too.
    let (status, danas) = page(&app, "/book/free-consultation?clinician=dana").await;
    assert_eq!(status, 200);
    assert!(danas.contains("clinician=\"dana\""), "{danas}");
    assert!(danas.contains("aria-current=\"true\" href=\"?clinician=dana\">Dana Whitfield"));
    let times = links(&danas, "?time=");
    assert!(!times.is_empty() && times.iter().all(|t| t.ends_with("&clinician=dana")));
    let (status, form) = page(&app, &format!("/book/free-consultation{}", times[0])).await;
    assert_eq!(status, 200, "{form}");
    assert_eq!(input_value(&form, "clinician"), "dana");
    let mut fields = filled(&form, &[]);
    fields.push(("clinician", "dana".to_owned()));
    let (status, done) = send(&app, "free-consultation", &fields).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("With Dana Whitfield"), "{done}");
    let (_, managed) = page(&app, &links(&done, "/manage/")[0]).await;
    assert!(managed.contains("Dana Whitfield"), "{managed}");

    // First available at the same time: Dana has that week's booking, so Lee.
    let (_, form) = page(
        &app,
        &format!(
            "/book/free-consultation{}",
            times[0].trim_end_matches("&clinician=dana")
        ),
    )
    .await;
    assert!(!form.contains("name=\"clinician\""), "no clinician chosen");
    let (status, done) = send(&app, "free-consultation", &filled(&form, &[])).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("With Lee Okafor"), "{done}");

    // A clinician the practice does not have there is not found.
    for path in [
        "/book/free-consultation?clinician=nobody",
        "/book/intake?clinician=dana",
    ] {
        assert_eq!(page(&app, path).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn a_clinicians_page_is_a_first_opening_and_carries_the_widget_for_them() {
    let (app, _widget) = spawn_with_widget_in(&group("")).await;
    let (status, danas) = page(&app, "/book/free-consultation?clinician=dana").await;
    assert_eq!(status, 200);
    assert!(danas.contains(LOADER), "{danas}");
    assert!(danas.contains("clinician=\"dana\""), "{danas}");
    // A day of hers chosen on the page: the visitor goes on without it.
    let day = links(&danas, "?day=").pop().expect("a day link");
    let (_, chosen) = page(&app, &format!("/book/free-consultation{day}")).await;
    assert!(!chosen.contains(LOADER), "{chosen}");
}
