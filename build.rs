//! Writes the widget's stylesheet without its comments and spaces into
//! `OUT_DIR`, for `src/element.rs` to embed: the comments are for whoever
//! edits `styles/widget.css`, not for visitors' downloads.

use std::{env, fs, path::Path};

fn main() {
    let source = "styles/widget.css";
    println!("cargo:rerun-if-changed={source}");
    let css = fs::read_to_string(source).expect("styles/widget.css");
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("widget.css");
    fs::write(out, minify(&css)).expect("writing the minified stylesheet");
}

/// Drops comments, and whitespace where CSS does not need it: runs of it
/// become one space, none is kept beside `{ } ; , :` outside selectors. Spaces
/// in selectors are kept (`a :hover` is not `a:hover`), as are those inside
/// values (`0 0 0 2px`).
fn minify(css: &str) -> String {
    let mut without_comments = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        without_comments.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    without_comments.push_str(rest);

    let mut out = String::with_capacity(without_comments.len());
    let mut depth = 0;
    let mut pending_space = false;
    for c in without_comments.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        let tight = |c: char| matches!(c, '{' | '}' | ';' | ',');
        // Inside a block, a declaration's colon needs no space after it.
        let after_colon = depth > 0 && out.ends_with(':') && !out.ends_with("::");
        if pending_space && !tight(c) && !out.ends_with(tight) && !after_colon {
            out.push(' ');
        }
        pending_space = false;
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        out.push(c);
    }
    out.replace(";}", "}")
}
