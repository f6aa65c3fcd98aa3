use yew::prelude::*;

#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    /// Base address of the adapter, from the element's `api` attribute.
    pub api: AttrValue,
}

#[component]
pub fn App(props: &AppProps) -> Html {
    html! { <section class="firststep" data-api={props.api.clone()}><h2>{"Schedule a free consultation"}</h2></section> }
}
