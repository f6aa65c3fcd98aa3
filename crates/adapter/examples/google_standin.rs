//! The tests' Google stand-in (`tests/api/google_standin.rs`) as a process,
//! for the end-to-end test: `google_standin FOLDER` starts it on 127.0.0.1,
//! writes the client secret and a refresh token into FOLDER, prints the
//! `[calendar]` table to add to a practice's configuration, then a line
//! `ready`, and serves until killed. Not for production: it imitates Google
//! for tests only.

#[allow(dead_code)]
#[path = "../tests/api/google_standin.rs"]
mod google_standin;

#[tokio::main]
async fn main() {
    let Some(folder) = std::env::args_os().nth(1) else {
        eprintln!("usage: google_standin FOLDER");
        std::process::exit(2);
    };
    let google = google_standin::GoogleStandIn::start().await;
    let refresh = google.issue_refresh_token();
    print!(
        "{}",
        google.calendar_table(std::path::Path::new(&folder), Some(&refresh))
    );
    println!("ready");
    std::future::pending::<()>().await;
}
