//! The `<firststep-booking>` widget: a Yew app rendered into the shadow root of
//! a custom element, speaking protocol v1 (`docs/protocol.md`) to an adapter.
//!
//! # Layers
//! Dependencies point one way, from the top of this list down; the test
//! `layers` below keeps them so.
//! - `element`: the custom-element bridge — attributes → props, the element's
//!   life → the app's, styles adopted into the shadow root.
//! - [`app`]: the root component: picks the step to show (times, details, done).
//! - `hooks`: the app's effects — `use_practice_and_slots` (both asked at once, drawn in one render), `use_submission`.
//! - `components/`: the views, as plain functions the root calls.
//! - `browser/`: bridges — `http` (the adapter over `fetch`), `json` (the
//!   browser's `JSON`), `intl` (dates and times by `Intl`), `events` (the
//!   `firststep:*` DOM events).
//! - `i18n`: the words, in English and Spanish.
//! - `model/`: the pure core — all state in one `Reducible` (no I/O), the
//!   form's fields and checks, days grouped in the visitor's zone (and a
//!   day's times into morning, afternoon, evening), what can go wrong.
//!   Unit-tested natively.

pub mod app;
mod browser;
mod components;
mod element;
mod hooks;
mod i18n;
mod model;

pub use app::{App, AppProps};
pub use element::{mount, WidgetHandle};

/// A free-list allocator a tenth the size of Rust's default (dlmalloc): the
/// widget makes small, short-lived allocations, and the download is what counts.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// The layers above, checked on the source: each module uses only modules
/// listed below it, so the graph has no cycle, and the model uses nothing of
/// the browser.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod layers {
    use std::path::Path;

    /// Top to bottom; a module may use only those after it.
    const LAYERS: &[&str] = &[
        "element",
        "app",
        "hooks",
        "components",
        "browser",
        "i18n",
        "model",
    ];

    /// The crate modules a file refers to as `crate::name`.
    fn uses(source: &str) -> Vec<&str> {
        source
            .match_indices("crate::")
            .filter_map(|(at, found)| {
                let rest = &source[at + found.len()..];
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
                Some(&rest[..end])
            })
            .collect()
    }

    fn files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn each_module_uses_only_the_layers_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        files(&src, &mut found);
        let mut wrong = Vec::new();
        for path in found {
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.iter().next().unwrap().to_str().unwrap();
            let module = first.trim_end_matches(".rs");
            let Some(level) = LAYERS.iter().position(|l| *l == module) else {
                assert_eq!(module, "lib", "{} is in no layer", relative.display());
                continue;
            };
            let source = std::fs::read_to_string(&path).unwrap();
            if module == "model" {
                for browser in ["web_sys", "js_sys", "wasm_bindgen", "gloo"] {
                    if source.contains(browser) {
                        wrong.push(format!("{} (model) uses {browser}", relative.display()));
                    }
                }
            }
            for used in uses(&source) {
                match LAYERS.iter().position(|l| *l == used) {
                    Some(below) if below >= level => {}
                    _ => wrong.push(format!("{} uses crate::{used}", relative.display())),
                }
            }
        }
        assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
    }

    #[test]
    fn the_check_sees_a_use_that_points_up() {
        assert_eq!(
            uses("use crate::app::{App};\nx = crate::model::days"),
            ["app", "model"]
        );
    }
}
