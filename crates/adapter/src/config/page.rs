//! The `[page]` section checked: the hosted booking page's theme. Each value
//! goes into a stylesheet, so each is held to the narrowest shape of its
//! kind — a hex colour, a length, font names — and nothing else passes: no
//! `;`, `}`, `<`, quote or backslash can reach the page.

use toml::Spanned;

use super::checks::Checker;
use super::raw::RawPage;
use super::PageSettings;

/// What a theme value may be.
#[derive(Clone, Copy)]
enum Shape {
    /// `#rgb` or `#rrggbb`.
    Colour,
    /// A number of at most 3 digits (and 2 decimals) with `px`, `rem` or `em`.
    Length,
    /// Font family names (letters, digits, spaces, hyphens) separated by
    /// commas; at most 200 characters.
    Fonts,
}

impl Shape {
    fn fits(self, value: &str) -> bool {
        match self {
            Self::Colour => {
                let hex = value.strip_prefix('#').unwrap_or_default();
                matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
            }
            Self::Length => {
                let number = ["px", "rem", "em"]
                    .into_iter()
                    .find_map(|unit| value.strip_suffix(unit))
                    .unwrap_or_default();
                let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
                let digits = |part: &str, max: usize| {
                    part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
                };
                !whole.is_empty()
                    && digits(whole, 3)
                    && digits(decimals, 2)
                    && !(number.ends_with('.'))
            }
            Self::Fonts => {
                value.len() <= 200
                    && value.split(',').all(|name| {
                        let name = name.trim();
                        !name.is_empty()
                            && name
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
                    })
            }
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Self::Colour => "must be a colour like \"#2f6b57\" (#rgb or #rrggbb)",
            Self::Length => "must be a length like \"8px\" or \"0.5rem\" (px, rem or em)",
            Self::Fonts => {
                "must be font names separated by commas, like \"Georgia, serif\" \
                 (letters, digits, spaces and hyphens; at most 200 characters)"
            }
        }
    }
}

impl Checker<'_> {
    pub(super) fn page(&mut self, raw: RawPage) -> Option<PageSettings> {
        let keys = [
            ("accent", raw.accent, Shape::Colour, "--firststep-accent"),
            (
                "background",
                raw.background,
                Shape::Colour,
                "--firststep-background",
            ),
            ("text", raw.text, Shape::Colour, "--firststep-text"),
            ("muted", raw.muted, Shape::Colour, "--firststep-muted"),
            ("error", raw.error, Shape::Colour, "--firststep-error"),
            ("radius", raw.radius, Shape::Length, "--firststep-radius"),
            ("font", raw.font, Shape::Fonts, "--firststep-font"),
        ];
        let mut theme = Vec::new();
        let mut fine = true;
        for (key, value, shape, property) in keys {
            let Some(value) = value else { continue };
            if shape.fits(value.get_ref()) {
                theme.push((property, value.into_inner()));
            } else {
                self.theme_problem(&value, key, shape);
                fine = false;
            }
        }
        fine.then_some(PageSettings { theme })
    }

    fn theme_problem(&mut self, value: &Spanned<String>, key: &str, shape: Shape) {
        self.problem(value, format!("page.{key}"), shape.rule());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{problems, GOOD};
    use crate::config::Settings;

    #[test]
    fn the_theme_is_set_in_order_and_each_bad_value_named_at_its_line() {
        let text = format!("{GOOD}\n[page]\naccent = \"#2f6b57\"\nfont = \"Georgia, serif\"\n");
        let settings = Settings::from_toml(&text, std::path::Path::new("/etc")).unwrap();
        assert_eq!(
            settings.page.theme_declarations(),
            " --firststep-accent: #2f6b57; --firststep-font: Georgia, serif;"
        );
        let none = Settings::from_toml(GOOD, std::path::Path::new("/etc")).unwrap();
        assert_eq!(none.page.theme_declarations(), "");

        let bad = format!(
            "{GOOD}\n[page]\naccent = \"red;}} body {{ display: none\"\nradius = \"8px\"\nfont = \"x</style><script>\"\n"
        );
        let found = problems(&bad);
        let lines = bad.lines().count();
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(summary, [(lines - 2, "page.accent"), (lines, "page.font")]);
        assert!(found[0].message.contains("#rrggbb"), "{}", found[0].message);
        assert!(problems(&format!("{GOOD}\n[page]\ncolour = \"#fff\"\n"))[0]
            .message
            .contains("colour"));
    }

    #[test]
    fn only_plain_values_of_each_shape_pass() {
        for good in ["#2f6b57", "#FFF", "#abcdef"] {
            assert!(Shape::Colour.fits(good), "{good}");
        }
        for bad in [
            "2f6b57",
            "#12345",
            "#ggg",
            "red",
            "#fff;}body{",
            "#fff\"",
            "",
        ] {
            assert!(!Shape::Colour.fits(bad), "{bad}");
        }
        for good in ["8px", "0.5rem", "12.25em", "0px"] {
            assert!(Shape::Length.fits(good), "{good}");
        }
        for bad in [
            "8",
            "px",
            ".5rem",
            "5.rem",
            "1.234px",
            "1000px",
            "8px;",
            "-1px",
            "calc(1px)",
        ] {
            assert!(!Shape::Length.fits(bad), "{bad}");
        }
        for good in [
            "Georgia, serif",
            "Iowan Old Style, Georgia, serif",
            "system-ui",
        ] {
            assert!(Shape::Fonts.fits(good), "{good}");
        }
        for bad in [
            "",
            "Georgia,",
            "\"Georgia\"",
            "a;b",
            "x</style>",
            "a}b",
            "url(x)",
            &"a".repeat(201),
        ] {
            assert!(!Shape::Fonts.fits(bad), "{bad}");
        }
    }
}
