use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};
use yew::AppHandle;

use crate::app::{App, AppProps};

const TAG: &str = "firststep-booking";

#[wasm_bindgen(module = "/js/element.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineBookingElement)]
    fn define_booking_element(tag: &str, mount: &Closure<dyn Fn(HtmlElement) -> JsValue>);
}

pub(crate) fn register() {
    let mount =
        Closure::<dyn Fn(HtmlElement) -> JsValue>::new(|host| WidgetHandle::mount(host).into());
    define_booking_element(TAG, &mount);
    // The element class keeps calling it for as long as the page lives.
    mount.forget();
}

/// One mounted widget, owned by its element.
#[wasm_bindgen]
pub struct WidgetHandle {
    host: HtmlElement,
    app: Option<AppHandle<App>>,
}

#[wasm_bindgen]
impl WidgetHandle {
    fn mount(host: HtmlElement) -> WidgetHandle {
        let shadow = host.shadow_root().unwrap_or_else(|| {
            host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
                .expect("attachShadow")
        });
        let document = host.owner_document().expect("element in a document");
        let root = document.create_element("div").expect("div");
        shadow.append_child(&root).expect("append root");
        let app = yew::Renderer::<App>::with_root_and_props(root, props_of(&host)).render();
        WidgetHandle {
            host,
            app: Some(app),
        }
    }

    /// Called when an observed attribute changes.
    pub fn update(&mut self) {
        if let Some(app) = self.app.as_mut() {
            app.update(props_of(&self.host));
        }
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
    AppProps {
        api: host.get_attribute("api").unwrap_or_default().into(),
    }
}
