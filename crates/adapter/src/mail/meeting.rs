//! How a consultation happens, in words: one plain sentence for an email
//! (the visitor's or the practice's), and the place a calendar entry shows.
//! The video room appears only where it was given (`Service::video_url_of`
//! for visitors: once confirmed).

use firststep_protocol::visitor_fields::{is_line_break, Language};

use crate::config::Meeting;

/// Who reads the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Visitor,
    Practice,
}

/// "The practice will call you at +1 555 0100." — or empty when the
/// service says nothing of how it happens.
pub fn how_we_meet(
    meeting: Option<&Meeting>,
    video_url: Option<&str>,
    phone: Option<&str>,
    reader: Reader,
    language: Language,
) -> String {
    let phone = phone.map(|p| p.replace(is_line_break, " "));
    let phone = phone.as_deref().unwrap_or("—");
    use Language::{English, Spanish};
    use Reader::{Practice, Visitor};
    match (meeting, video_url, reader, language) {
        (None, ..) => String::new(),
        (Some(Meeting::Phone), _, Visitor, English) => {
            format!("The practice will call you at {phone}.")
        }
        (Some(Meeting::Phone), _, Visitor, Spanish) => {
            format!("La consulta es por teléfono: le llamarán al {phone}.")
        }
        (Some(Meeting::Phone), _, Practice, English) => format!("By phone: call them at {phone}."),
        (Some(Meeting::Phone), _, Practice, Spanish) => {
            format!("Por teléfono: llámele al {phone}.")
        }
        (Some(Meeting::Video(_)), Some(url), _, English) => {
            format!("By video call, in this room:\n{url}")
        }
        (Some(Meeting::Video(_)), Some(url), _, Spanish) => {
            format!("Por videollamada, en esta sala:\n{url}")
        }
        (Some(Meeting::Video(_)), None, _, English) => {
            "By video call: the link to the room comes with the confirmation.".to_owned()
        }
        (Some(Meeting::Video(_)), None, _, Spanish) => {
            "Por videollamada: el enlace a la sala llega con la confirmación.".to_owned()
        }
        (Some(Meeting::InPerson { address }), _, _, English) => format!("In person, at {address}."),
        (Some(Meeting::InPerson { address }), _, _, Spanish) => {
            format!("En persona, en {address}.")
        }
    }
}

/// A calendar entry's LOCATION: the address, the video room (where given),
/// or "Phone call".
pub fn meeting_place(
    meeting: Option<&Meeting>,
    video_url: Option<&str>,
    language: Language,
) -> Option<String> {
    match (meeting?, video_url, language) {
        (Meeting::Phone, _, Language::English) => Some("Phone call".to_owned()),
        (Meeting::Phone, _, Language::Spanish) => Some("Llamada telefónica".to_owned()),
        (Meeting::Video(_), Some(url), _) => Some(url.to_owned()),
        (Meeting::Video(_), None, Language::English) => Some("Video call".to_owned()),
        (Meeting::Video(_), None, Language::Spanish) => Some("Videollamada".to_owned()),
        (Meeting::InPerson { address }, ..) => Some(address.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VideoRoom;

    #[test]
    fn each_kind_reads_plainly_in_both_languages_and_the_room_only_where_given() {
        let phone = Meeting::Phone;
        let video = Meeting::Video(VideoRoom::Fixed("https://meet.example/room".into()));
        let office = Meeting::InPerson {
            address: "12 Main St, Springfield".into(),
        };
        let visitor =
            |m, url, l| how_we_meet(Some(m), url, Some("+1 555 0100"), Reader::Visitor, l);
        assert_eq!(
            visitor(&phone, None, Language::English),
            "The practice will call you at +1 555 0100."
        );
        assert_eq!(
            visitor(&phone, None, Language::Spanish),
            "La consulta es por teléfono: le llamarán al +1 555 0100."
        );
        assert!(!visitor(&video, None, Language::English).contains("https://"));
        assert!(
            visitor(&video, Some("https://meet.example/room"), Language::English)
                .ends_with("\nhttps://meet.example/room")
        );
        assert_eq!(
            visitor(&office, None, Language::Spanish),
            "En persona, en 12 Main St, Springfield."
        );
        assert_eq!(
            how_we_meet(None, None, None, Reader::Practice, Language::English),
            ""
        );
        assert_eq!(
            how_we_meet(
                Some(&phone),
                None,
                Some("+1 555\n0100"),
                Reader::Practice,
                Language::English
            ),
            "By phone: call them at +1 555 0100.",
            "one line, even for a number stored before the rules"
        );
        assert_eq!(
            meeting_place(Some(&video), None, Language::English).as_deref(),
            Some("Video call")
        );
        assert_eq!(
            meeting_place(Some(&office), None, Language::English).as_deref(),
            Some("12 Main St, Springfield")
        );
        assert_eq!(meeting_place(None, None, Language::English), None);
    }
}
