//! `firststep-adapter check-config`: every problem of a file in one run, in
//! line order, each at its place; the example file passes.

use std::path::Path;

use crate::helpers::{assert_problems, check_config, CONFIG};

#[test]
fn every_unknown_key_and_bad_url_is_listed_in_line_order() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    let text = CONFIG
        .replace(
            "privacy_url = \"https://test.example.org/privacy\"",
            "privacy_url = \"test.example.org/privacy\"\ncolour = \"blue\"",
        )
        .replace("mode = \"instant\"", "mode = \"instant\"\nprice = 80")
        .replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1:0\"\nlisen = \"typo\"",
        );
    std::fs::write(&file, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;

    let output = check_config(&file);

    let shown = file.display();
    let expected = [
        format!("{shown}:{}: practice.privacy_url: not a URL", line_of("privacy_url")),
        format!("{shown}:{}: practice.colour: unknown key `colour` in [practice]; expected one of `name`", line_of("colour")),
        format!("{shown}:{}: services[1].price: unknown key `price` in [services[1]]; expected one of `id`", line_of("price")),
        format!("{shown}:{}: server.lisen: unknown key `lisen` in [server]; expected one of `listen`", line_of("lisen")),
    ];
    assert_problems(output, &expected);
}

#[test]
fn the_example_file_passes() {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/riverside-counselling.toml");

    let output = check_config(&example);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(": ok (Riverside Counselling, 1 service(s))"),
        "{stdout}"
    );
}

/// A `postgres://` store is accepted at `server.store` (checking a file
/// never connects), and one that cannot be reached is said plainly by the
/// commands that open it, its password never shown.
#[test]
fn a_postgres_store_is_accepted_and_an_unreachable_one_is_said_without_its_password() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://firststep:secret@127.0.0.1:1/firststep";
    let text = CONFIG.replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:0\"\nstore = \"{url}\""),
    );
    std::fs::write(&file, &text).unwrap();
    let output = check_config(&file);
    let said = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(!said.contains("secret"), "{said}");

    std::fs::write(&file, CONFIG).unwrap();
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["requests", "--config"])
        .arg(&file)
        .arg("list")
        .env("FIRSTSTEP_STORE", url)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(!listed.status.success());
    assert!(said.contains("PostgreSQL"), "{said}");
    assert!(!said.contains("secret"), "{said}");
}
