//! The tests' Microsoft stand-in (`tests/api/microsoft_standin.rs`) as a
//! process, for the end-to-end test: `microsoft_standin FOLDER` starts it on
//! 127.0.0.1, writes a refresh token into FOLDER, prints the `[calendar]`
//! table to add to a practice's configuration, then a line `ready`, and
//! serves until killed. `GET /standin/events` lists the calendar's events.
//! Not for production: it imitates Microsoft for tests only.

#[allow(dead_code)]
#[path = "../tests/api/microsoft_standin.rs"]
mod microsoft_standin;

#[tokio::main]
async fn main() {
    let Some(folder) = std::env::args_os().nth(1) else {
        eprintln!("usage: microsoft_standin FOLDER");
        std::process::exit(2);
    };
    let graph = microsoft_standin::MicrosoftStandIn::start().await;
    let refresh = graph.issue_refresh_token();
    print!(
        "{}",
        graph.calendar_table(std::path::Path::new(&folder), Some(&refresh))
    );
    println!("ready");
    std::future::pending::<()>().await;
}
