//! [`Html`]: markup that is safe to send, because it can only be made from
//! escaped text and the program's own literals. The pages take nothing else,
//! so a visitor's name or note cannot reach a page unescaped.

use std::ops::{Add, AddAssign};

/// Escaped markup. Built with [`Html::text`] (escapes) and
/// [`Html::trusted_static`] (literals written in the program), joined with `+`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// `text` as inert markup: `& < > " '` become entities, so it is safe
    /// both between tags and inside a double-quoted attribute.
    pub fn text(text: &str) -> Self {
        let mut escaped = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&quot;"),
                '\'' => escaped.push_str("&#39;"),
                c => escaped.push(c),
            }
        }
        Self(escaped)
    }

    /// Markup written in the program itself (a `'static` literal, never
    /// text that came from outside).
    pub fn trusted_static(markup: &'static str) -> Self {
        Self(markup.to_owned())
    }

    /// `<tag>content</tag>` for a plain element name such as `p` or `h1`.
    pub fn element(tag: &'static str, content: Html) -> Self {
        debug_assert!(tag.bytes().all(|b| b.is_ascii_alphanumeric()));
        Self(format!("<{tag}>{}</{tag}>", content.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Add for Html {
    type Output = Html;

    fn add(mut self, more: Html) -> Html {
        self += more;
        self
    }
}

impl AddAssign for Html {
    fn add_assign(&mut self, more: Html) {
        self.0.push_str(&more.0);
    }
}

impl FromIterator<Html> for Html {
    fn from_iter<I: IntoIterator<Item = Html>>(parts: I) -> Self {
        let mut all = Html::default();
        for part in parts {
            all += part;
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_literals_are_kept() {
        let page = Html::trusted_static("<p title=\"")
            + Html::text("\"><script>alert('x')</script> & co")
            + Html::trusted_static("\">")
            + Html::element("b", Html::text("Sam & <Lee>"))
            + Html::trusted_static("</p>");
        assert_eq!(
            page.as_str(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co\">\
             <b>Sam &amp; &lt;Lee&gt;</b></p>"
        );
    }

    #[test]
    fn parts_collect_in_order() {
        let list: Html = ["a", "<b>", "c"].into_iter().map(Html::text).collect();
        assert_eq!(list.as_str(), "a&lt;b&gt;c");
    }
}
