//! `services.location` and its keys: how a consultation happens, checked
//! whole (each kind's own keys present, the others' absent).

use firststep_protocol::FieldRule;
use toml::Spanned;

use super::checks::Checker;
use super::raw::RawService;
use super::settings::{Meeting, VideoRoom, ROOM_TOKEN};
use super::urls::UrlUse;

impl Checker<'_> {
    /// The service's meeting, `Some(None)` when it names none, `None` when
    /// something is wrong (each problem at its line).
    pub(super) fn meeting(
        &mut self,
        i: usize,
        s: &RawService,
        form_phone: FieldRule,
    ) -> Option<Option<Meeting>> {
        let key = |name: &str| format!("services[{i}].{name}");
        let kind = s.location.as_ref().map(|l| l.get_ref().as_str());
        let before = self.problems.len();
        // A key of another kind would be silently ignored: say so instead.
        let unused: [(&Option<Spanned<String>>, &str, bool); 3] = [
            (&s.video_url, "video_url", kind == Some("video")),
            (
                &s.video_url_template,
                "video_url_template",
                kind == Some("video"),
            ),
            (&s.address, "address", kind == Some("in_person")),
        ];
        for (value, name, belongs) in unused {
            if let (Some(value), false) = (value, belongs) {
                let wanted = if name == "address" {
                    "in_person"
                } else {
                    "video"
                };
                self.problem(
                    value,
                    key(name),
                    format!("only for location = \"{wanted}\""),
                );
            }
        }
        let meeting = match (kind, &s.location) {
            (None, _) => None,
            (Some("phone"), Some(at)) => {
                if form_phone == FieldRule::Hidden {
                    self.problem(
                        at,
                        key("location"),
                        "the practice calls the visitor, so the form must ask for a phone number: \
                         set [form] phone = \"required\" (or \"optional\": it is then required for this service)",
                    );
                }
                Some(Meeting::Phone)
            }
            (Some("video"), Some(at)) => match (&s.video_url, &s.video_url_template) {
                (Some(url), None) => self
                    .url(url, &key("video_url"), UrlUse::Secret)
                    .map(|_| Meeting::Video(VideoRoom::Fixed(url.get_ref().clone()))),
                (None, Some(template)) => self.room_template(template, &key("video_url_template")),
                (Some(_), Some(template)) => {
                    self.problem(
                        template,
                        key("video_url_template"),
                        "give video_url or video_url_template, not both",
                    );
                    None
                }
                (None, None) => {
                    self.problem(
                        at,
                        key("location"),
                        "a video consultation needs video_url (one room) or video_url_template (a room per booking, with {token})",
                    );
                    None
                }
            },
            (Some("in_person"), Some(at)) => match &s.address {
                Some(address) if is_one_short_line(address.get_ref()) => Some(Meeting::InPerson {
                    address: address.get_ref().trim().to_owned(),
                }),
                Some(address) => {
                    self.problem(
                        address,
                        key("address"),
                        "one line of at most 200 characters",
                    );
                    None
                }
                None => {
                    self.problem(
                        at,
                        key("location"),
                        "an in-person consultation needs the address (address = \"…\")",
                    );
                    None
                }
            },
            (Some(_), Some(at)) => {
                self.problem(
                    at,
                    key("location"),
                    "must be \"phone\", \"video\" or \"in_person\"",
                );
                None
            }
            (Some(_), None) => None,
        };
        (self.problems.len() == before).then_some(meeting)
    }

    /// A room per booking: `{token}` in it, and a URL once it is filled.
    fn room_template(&mut self, template: &Spanned<String>, key: &str) -> Option<Meeting> {
        let text = template.get_ref();
        if !text.contains(ROOM_TOKEN) {
            self.problem(
                template,
                key,
                "must hold {token}, where each booking's own room name goes",
            );
            return None;
        }
        let filled = Spanned::new(template.span(), text.replace(ROOM_TOKEN, "room"));
        self.url(&filled, key, UrlUse::Secret)
            .map(|_| Meeting::Video(VideoRoom::PerBooking(text.clone())))
    }
}

fn is_one_short_line(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.chars().count() <= 200 && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::tests::{problems, GOOD};
    use crate::config::{Meeting, Settings, VideoRoom};

    /// GOOD's service with `keys` added (each on its own line, from line 9).
    fn with(keys: &str) -> String {
        GOOD.replace(
            "title = \"Free 15-minute consultation\"\n",
            &format!("title = \"Free 15-minute consultation\"\n{keys}\n"),
        )
    }

    fn meeting(keys: &str) -> Option<Meeting> {
        let settings = Settings::from_toml(&with(keys), Path::new("/etc/firststep")).unwrap();
        settings.practice.services[0].meeting.clone()
    }

    fn found(keys: &str) -> Vec<(usize, String)> {
        problems(&with(keys))
            .into_iter()
            .map(|p| (p.line, p.key))
            .collect()
    }

    #[test]
    fn each_kind_of_meeting_is_read_with_its_own_keys() {
        assert_eq!(meeting(""), None);
        assert_eq!(meeting("location = \"phone\""), Some(Meeting::Phone));
        assert_eq!(
            meeting("location = \"video\"\nvideo_url = \"https://meet.example.org/room\""),
            Some(Meeting::Video(VideoRoom::Fixed(
                "https://meet.example.org/room".into()
            )))
        );
        assert_eq!(
            meeting("location = \"video\"\nvideo_url_template = \"https://meet.example.org/rc-{token}\""),
            Some(Meeting::Video(VideoRoom::PerBooking("https://meet.example.org/rc-{token}".into())))
        );
        assert_eq!(
            meeting("location = \"in_person\"\naddress = \" 12 Main St \""),
            Some(Meeting::InPerson {
                address: "12 Main St".into()
            })
        );
    }

    #[test]
    fn a_meeting_missing_its_keys_or_given_anothers_is_a_problem_at_its_line() {
        let at = |line: usize, key: &str| vec![(line, format!("services[0].{key}"))];
        assert_eq!(found("location = \"zoom\""), at(9, "location"));
        assert_eq!(found("location = \"video\""), at(9, "location"));
        assert_eq!(found("location = \"in_person\""), at(9, "location"));
        assert_eq!(
            found("location = \"video\"\nvideo_url = \"https://a.example\"\nvideo_url_template = \"https://b.example/{token}\""),
            at(11, "video_url_template")
        );
        assert_eq!(
            found("location = \"video\"\nvideo_url_template = \"https://meet.example.org/room\""),
            at(10, "video_url_template"),
            "a template without {{token}} would give every booking one room"
        );
        assert_eq!(
            found("location = \"video\"\nvideo_url = \"http://meet.example.org/room\""),
            at(10, "video_url"),
            "a room's address travels in clear"
        );
        assert_eq!(
            found("location = \"phone\"\naddress = \"12 Main St\""),
            at(10, "address")
        );
        assert_eq!(
            found("video_url = \"https://a.example\""),
            at(9, "video_url")
        );
        assert_eq!(
            found("location = \"in_person\"\naddress = \"12 Main St\\nSpringfield\""),
            at(10, "address")
        );
    }

    #[test]
    fn a_consultation_by_phone_needs_the_form_to_ask_for_the_number() {
        let text = with("location = \"phone\"") + "[form]\nphone = \"hidden\"\n";
        let found: Vec<(usize, String)> = problems(&text)
            .into_iter()
            .map(|p| (p.line, p.key))
            .collect();
        assert_eq!(found, [(9, "services[0].location".to_owned())]);
        let optional = with("location = \"phone\"") + "[form]\nphone = \"optional\"\n";
        assert!(Settings::from_toml(&optional, Path::new("/etc/firststep")).is_ok());
    }
}
