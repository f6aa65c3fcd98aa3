//! The bridge between `<firststep-booking>` and the Yew app: attributes
//! become props, the element's life drives the app's, and the widget's
//! stylesheet is adopted into the shadow root (no inline styles, so the
//! page's CSP needs nothing for it).

use wasm_bindgen::prelude::*;
use web_sys::{CssStyleSheet, HtmlElement, ShadowRoot, ShadowRootInit, ShadowRootMode};
use yew::{AppHandle, AttrValue};

use crate::app::{App, AppProps};

// styles/widget.css, without its comments (build.rs).
const STYLES: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.css"));

/// Renders a widget into `host`'s shadow root: called by the element class
/// (js/element.js) when a `<firststep-booking>` joins the page.
#[wasm_bindgen]
pub fn mount(host: HtmlElement) -> WidgetHandle {
    let shadow = host.shadow_root().unwrap_or_else(|| {
        host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
            .expect_throw("attachShadow")
    });
    adopt_styles(&shadow);
    let props = props_of(&host);
    let manage = props.manage.clone();
    let app = start(&shadow, props);
    WidgetHandle {
        host,
        shadow,
        manage,
        app: Some(app),
    }
}

/// The app, rendered into a new root of its own in `shadow`.
fn start(shadow: &ShadowRoot, props: AppProps) -> AppHandle<App> {
    let document = props
        .host
        .owner_document()
        .expect_throw("an element in a document");
    let root = document.create_element("div").expect_throw("a div");
    shadow
        .append_child(&root)
        .expect_throw("the app's root in the shadow root");
    yew::Renderer::<App>::with_root_and_props(root, props).render()
}

/// One mounted widget, owned by its element.
#[wasm_bindgen]
pub struct WidgetHandle {
    host: HtmlElement,
    shadow: ShadowRoot,
    /// The manage link the app was started with.
    manage: Option<AttrValue>,
    app: Option<AppHandle<App>>,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Called when an observed attribute changes.
    pub fn update(&mut self) {
        let props = props_of(&self.host);
        if props.manage == self.manage {
            if let Some(app) = self.app.as_mut() {
                app.update(props);
            }
            return;
        }
        // Another manage link (or none) is another visit: a booking to
        // move, or a new one to make. The app starts afresh for it.
        if let Some(app) = self.app.take() {
            app.destroy();
        }
        self.shadow.set_inner_html("");
        self.manage = props.manage.clone();
        self.app = Some(start(&self.shadow, props));
    }

    /// Called when the element leaves the page.
    pub fn destroy(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
        if let Some(shadow) = self.host.shadow_root() {
            shadow.set_inner_html("");
        }
    }
}

fn props_of(host: &HtmlElement) -> AppProps {
    let attribute = |name| host.get_attribute(name).filter(|v| !v.trim().is_empty());
    AppProps {
        api: absolute(&attribute("api").unwrap_or_else(|| "/".into())).into(),
        service: attribute("service").map(Into::into),
        clinician: attribute("clinician").map(Into::into),
        locale: attribute("locale").map(Into::into),
        manage: attribute("manage").map(Into::into),
        host: host.clone().into(),
    }
}

/// The `api` attribute may be relative to the page (`/`, `../booking`).
fn absolute(api: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten());
    base.and_then(|base| web_sys::Url::new_with_base(api, &base).ok())
        .map_or_else(|| api.to_owned(), |url| url.href())
}

/// One stylesheet object shared by every widget on the page.
fn adopt_styles(shadow: &ShadowRoot) {
    thread_local! {
        static SHEET: Option<CssStyleSheet> = CssStyleSheet::new().ok().filter(|sheet| sheet.replace_sync(STYLES).is_ok());
    }
    SHEET.with(|sheet| {
        if let Some(sheet) = sheet {
            let sheets = js_sys::Array::of1(sheet);
            let _ = js_sys::Reflect::set(shadow, &"adoptedStyleSheets".into(), &sheets);
        }
    });
}
