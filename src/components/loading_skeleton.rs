use yew::prelude::*;

/// Grey placeholders the size of the day and time buttons, so nothing jumps
/// when the slots arrive. Hidden from assistive tech: the live region says
/// "Loading" instead.
///
/// Written as markup, not as `html!`: it never changes, and the browser's
/// parser builds it from 0.4 KB of text where each element of `html!` is
/// code of its own (bench/README.md).
pub fn loading_skeleton() -> Html {
    // Five day blocks, eight time blocks.
    Html::from_html_unchecked(AttrValue::Static(concat!(
        r#"<div class="fs-skeleton" aria-hidden="true"><div class="fs-skeleton-row">"#,
        r#"<span class="fs-skeleton-day"></span><span class="fs-skeleton-day"></span>"#,
        r#"<span class="fs-skeleton-day"></span><span class="fs-skeleton-day"></span>"#,
        r#"<span class="fs-skeleton-day"></span></div><div class="fs-skeleton-grid">"#,
        r#"<span class="fs-skeleton-time"></span><span class="fs-skeleton-time"></span>"#,
        r#"<span class="fs-skeleton-time"></span><span class="fs-skeleton-time"></span>"#,
        r#"<span class="fs-skeleton-time"></span><span class="fs-skeleton-time"></span>"#,
        r#"<span class="fs-skeleton-time"></span><span class="fs-skeleton-time"></span>"#,
        r#"</div></div>"#,
    )))
}
