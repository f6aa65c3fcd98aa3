//! Browser tests: the widget mounted in real headless Chromium.
#![cfg(target_arch = "wasm32")]

use firststep_widget::{App, AppProps};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn renders_its_heading() {
    let document = gloo_utils_document();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root_and_props(
        root.clone(),
        AppProps {
            api: "http://127.0.0.1:1".into(),
        },
    )
    .render();
    yew::scheduler::flush().await;
    assert!(root
        .text_content()
        .unwrap()
        .contains("Schedule a free consultation"));
}

fn gloo_utils_document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}
