//! Protocol v1 JSON, read and written through the browser's own `JSON`.
//!
//! The wire types are the protocol crate's, but the widget does not use
//! their serde impls: serde, serde_json and chrono's parser were 51 KB of
//! the 174 KB gzip download. Reading a parsed `JsValue` field by field costs
//! 3.6 KB for all the types. The browser tests feed these readers what serde
//! writes, and the end-to-end tests what the adapter sends.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use firststep_protocol::{
    BookingCreated, BookingMode, BookingRequest, BookingStatus, BookingView, ClinicianInfo,
    ClinicianRef, ErrorCode, FieldRule, FormSettings, PracticeInfo, Problem, ServiceInfo, Slot,
    SlotList,
};
use js_sys::{Array, JsString, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;

use super::intl::js_date;

/// A protocol type read from a value of `JSON.parse`; `None` when the value
/// does not have the documented shape.
pub trait FromJson: Sized {
    fn from_json(json: &Json) -> Option<Self>;
}

/// Reads a value of `JSON.parse` (or of `Response.json()`) as `T`.
pub fn read<T: FromJson>(value: JsValue) -> Option<T> {
    T::from_json(&Json(value))
}

/// One value of parsed JSON.
pub struct Json(JsValue);

impl Json {
    fn field(&self, name: &'static str) -> Json {
        Json(Reflect::get(&self.0, &key(name)).unwrap_or(JsValue::UNDEFINED))
    }

    fn string(&self, name: &'static str) -> Option<String> {
        self.field(name).0.as_string()
    }

    /// A field that may be `null` or absent; present but of another type is malformed.
    fn optional<T>(
        &self,
        name: &'static str,
        read: impl Fn(&Json) -> Option<T>,
    ) -> Option<Option<T>> {
        let value = self.field(name);
        if value.0.is_null() || value.0.is_undefined() {
            Some(None)
        } else {
            read(&value).map(Some)
        }
    }

    fn optional_string(&self, name: &'static str) -> Option<Option<String>> {
        self.optional(name, |v| v.0.as_string())
    }

    fn number(&self, name: &'static str) -> Option<f64> {
        self.field(name).0.as_f64()
    }

    fn instant(&self, name: &'static str) -> Option<DateTime<Utc>> {
        instant_from(&self.field(name))
    }

    fn list<T: FromJson>(&self, name: &'static str) -> Option<Vec<T>> {
        self.field(name).items()
    }

    /// This value as a list of `T`. (A loop: collecting into
    /// `Option<Vec<T>>` weighs more for each `T`.)
    fn items<T: FromJson>(&self) -> Option<Vec<T>> {
        if !Array::is_array(&self.0) {
            return None;
        }
        let mut items = Vec::new();
        for item in Array::from(&self.0).iter() {
            items.push(T::from_json(&Json(item))?);
        }
        Some(items)
    }
}

/// The JS string for a field name, made once: a list of slots asks for
/// "start" and "end" thousands of times. (wasm-bindgen's own interning
/// would weigh on every string the widget passes, and cost 1.5 KB.)
fn key(name: &'static str) -> JsValue {
    thread_local! {
        static KEYS: RefCell<Vec<(&'static str, JsValue)>> = const { RefCell::new(Vec::new()) };
    }
    KEYS.with_borrow_mut(|keys| {
        if let Some((_, key)) = keys.iter().find(|(known, _)| *known == name) {
            return key.clone();
        }
        let key = JsValue::from_str(name);
        keys.push((name, key.clone()));
        key
    })
}

#[wasm_bindgen]
extern "C" {
    /// `Date.parse` of a JS string as it is, not copied into the wasm and back.
    #[wasm_bindgen(js_namespace = Date, js_name = parse)]
    fn parse_date(text: &JsString) -> f64;
}

fn instant_from(value: &Json) -> Option<DateTime<Utc>> {
    // The protocol's instants are RFC 3339, which `Date.parse` reads exactly.
    let millis = parse_date(value.0.dyn_ref()?);
    if millis.is_nan() {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

/// An instant as the adapter writes it: RFC 3339 in UTC, whole seconds
/// (`2026-12-01T14:00:00Z`).
pub fn instant_text(instant: DateTime<Utc>) -> String {
    let text = String::from(js_date(instant).to_iso_string());
    match text.strip_suffix(".000Z") {
        Some(seconds) => format!("{seconds}Z"),
        None => text,
    }
}

impl FromJson for PracticeInfo {
    fn from_json(json: &Json) -> Option<Self> {
        let form = json.field("form");
        let rule = |name| FieldRule::parse(&form.string(name)?);
        Some(Self {
            name: json.string("name")?,
            time_zone: json.string("time_zone")?,
            services: json.list("services")?,
            form: FormSettings {
                phone: rule("phone")?,
                note: rule("note")?,
            },
            notice: json.optional_string("notice")?,
            privacy_url: json.optional_string("privacy_url")?,
            // Absent when the practice has none.
            clinicians: json
                .optional("clinicians", Json::items)?
                .unwrap_or_default(),
        })
    }
}

impl FromJson for ClinicianInfo {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            id: json.string("id")?,
            name: json.string("name")?,
            pronouns: json.optional_string("pronouns")?,
            bio: json.optional_string("bio")?,
            services: json.list("services")?,
        })
    }
}

impl FromJson for String {
    fn from_json(json: &Json) -> Option<Self> {
        json.0.as_string()
    }
}

impl FromJson for ServiceInfo {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            id: json.string("id")?,
            title: json.string("title")?,
            duration_minutes: json.number("duration_minutes")? as u32,
            mode: BookingMode::parse(&json.string("mode")?)?,
            location: json.optional_string("location")?,
            address: json.optional_string("address")?,
            description: json.optional_string("description")?,
        })
    }
}

impl FromJson for SlotList {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            service: json.string("service")?,
            clinician: json.optional_string("clinician")?,
            time_zone: json.string("time_zone")?,
            slots: json.list("slots")?,
        })
    }
}

impl FromJson for Slot {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            start: json.instant("start")?,
            end: json.instant("end")?,
        })
    }
}

impl FromJson for BookingCreated {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            booking: BookingView::from_json(json)?,
            manage_token: json.string("manage_token")?,
        })
    }
}

impl FromJson for BookingView {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            id: json.string("id")?,
            status: BookingStatus::parse(&json.string("status")?)?,
            service: json.string("service")?,
            start: json.instant("start")?,
            end: json.instant("end")?,
            expires_at: json.optional("expires_at", instant_from)?,
            video_url: json.optional_string("video_url")?,
            // Whom it is with, so a move keeps to their times.
            clinician: json.optional("clinician", |c| {
                Some(ClinicianRef {
                    id: c.string("id")?,
                    name: c.string("name")?,
                })
            })?,
        })
    }
}

impl FromJson for Problem {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Self {
            kind: json.string("type")?,
            title: json.string("title")?,
            status: json.number("status")? as u16,
            // Codes newer than this widget read as `Other`, as with serde.
            code: ErrorCode::parse(&json.string("code")?).unwrap_or(ErrorCode::Other),
            detail: json.string("detail")?,
            field: json.optional_string("field")?,
            retryable: json.field("retryable").0.as_bool()?,
        })
    }
}

/// A plain object with these fields, for JSON bodies and event details.
pub fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object
}

fn text_or_null(text: &Option<String>) -> JsValue {
    text.as_deref().map_or(JsValue::NULL, JsValue::from_str)
}

/// The body of `POST /v1/bookings`.
pub fn booking_request(request: &BookingRequest) -> String {
    let client = &request.client;
    let mut fields = vec![
        ("service", request.service.as_str().into()),
        ("start", instant_text(request.start).into()),
        (
            "client",
            object(&[
                ("name", client.name.as_str().into()),
                ("email", client.email.as_str().into()),
                ("phone", text_or_null(&client.phone)),
            ])
            .into(),
        ),
        ("client_time_zone", text_or_null(&request.client_time_zone)),
        ("note", text_or_null(&request.note)),
        ("consent", request.consent.into()),
        ("website", request.website.as_str().into()),
    ];
    // Optional additions, written only when given, as serde does.
    for (name, value) in [
        ("locale", &request.locale),
        ("clinician", &request.clinician),
    ] {
        if value.is_some() {
            fields.push((name, text_or_null(value)));
        }
    }
    JSON::stringify(&object(&fields))
        .map(String::from)
        .unwrap_or_default()
}

/// The body of `POST /v1/bookings/{id}/reschedule`.
pub fn reschedule_request(start: DateTime<Utc>) -> String {
    // An instant's text is digits and `-:TZ`: nothing to escape.
    format!(r#"{{"start":"{}"}}"#, instant_text(start))
}

/// What serde writes for the protocol's types, read back by these readers:
/// the two must agree on every field, or the widget misreads the adapter.
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use firststep_protocol::ClientDetails;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn parse<T: FromJson>(text: &str) -> Option<T> {
        read(JSON::parse(text).ok()?)
    }

    fn read_back<T: serde::Serialize + FromJson + PartialEq + std::fmt::Debug>(value: T) {
        let written = serde_json::to_string(&value).unwrap();
        assert_eq!(parse::<T>(&written), Some(value), "{written}");
    }

    #[wasm_bindgen_test]
    fn reads_what_the_adapter_writes() {
        let service = |mode, optional: Option<&str>| ServiceInfo {
            id: "free-consultation".into(),
            title: "Free consultation".into(),
            duration_minutes: 15,
            mode,
            location: optional.map(Into::into),
            address: optional.map(|_| "12 Main St".into()),
            description: optional.map(Into::into),
        };
        read_back(PracticeInfo {
            name: "Riverside".into(),
            time_zone: "America/New_York".into(),
            services: vec![
                service(BookingMode::Request, Some("phone")),
                service(BookingMode::Instant, None),
            ],
            form: FormSettings {
                phone: FieldRule::Required,
                note: FieldRule::Hidden,
            },
            notice: Some("If you are in crisis, call 988.".into()),
            privacy_url: None,
            clinicians: vec![],
        });
        // A group practice: its clinicians, with and without pronouns and bio.
        read_back(PracticeInfo {
            name: "Harbour".into(),
            time_zone: "America/New_York".into(),
            services: vec![service(BookingMode::Instant, None)],
            form: FormSettings {
                phone: FieldRule::Optional,
                note: FieldRule::Optional,
            },
            notice: None,
            privacy_url: None,
            clinicians: vec![
                ClinicianInfo {
                    id: "dana".into(),
                    name: "Dana Whitfield".into(),
                    pronouns: Some("she/her".into()),
                    bio: Some("Anxiety and grief.".into()),
                    services: vec!["free-consultation".into()],
                },
                ClinicianInfo {
                    id: "lee".into(),
                    name: "Lee Okafor".into(),
                    pronouns: None,
                    bio: None,
                    services: vec![],
                },
            ],
        });
        read_back(SlotList {
            service: "free-consultation".into(),
            clinician: Some("dana".into()),
            time_zone: "Europe/Berlin".into(),
            slots: vec![Slot {
                start: at("2026-12-01T14:00:00Z"),
                end: at("2026-12-01T14:15:00Z"),
            }],
        });
        for expires_at in [None, Some(at("2026-12-03T14:00:00Z"))] {
            read_back(BookingCreated {
                booking: BookingView {
                    id: "bk_1".into(),
                    status: BookingStatus::Pending,
                    service: "free-consultation".into(),
                    start: at("2026-12-01T14:00:00Z"),
                    end: at("2026-12-01T14:15:00Z"),
                    expires_at,
                    // A confirmed video booking has its room; a request not yet.
                    video_url: expires_at.map_or(Some("https://meet.example/r".into()), |_| None),
                    // A group practice's booking names its clinician.
                    clinician: expires_at.map(|_| ClinicianRef {
                        id: "dana".into(),
                        name: "Dana Whitfield".into(),
                    }),
                },
                manage_token: "secret".into(),
            });
        }
        // `GET /v1/bookings/{id}`: the booking alone, in any status.
        read_back(BookingView {
            id: "bk_1".into(),
            status: BookingStatus::Cancelled,
            service: "free-consultation".into(),
            start: at("2026-12-01T14:00:00Z"),
            end: at("2026-12-01T14:15:00Z"),
            expires_at: None,
            video_url: None,
            clinician: None,
        });
        read_back(Problem {
            kind: "https://firststep.example/problems/invalid-field".into(),
            title: "Invalid field".into(),
            status: 422,
            code: ErrorCode::InvalidField,
            detail: "`client.email` is not an email address".into(),
            field: Some("client.email".into()),
            retryable: false,
        });
    }

    #[wasm_bindgen_test]
    fn refuses_what_does_not_have_the_documented_shape() {
        let slots = |slots: &str| format!(r#"{{"service":"s","time_zone":"UTC","slots":{slots}}}"#);
        assert!(parse::<SlotList>(&slots("[]")).is_some());
        assert!(parse::<SlotList>(&slots("{}")).is_none(), "not a list");
        assert!(parse::<SlotList>(&slots(r#"[{"start":"soon","end":"later"}]"#)).is_none());
        assert!(parse::<SlotList>("not json").is_none());
        assert!(
            parse::<SlotList>(r#"{"service":"s","slots":[]}"#).is_none(),
            "a field missing"
        );
        let practice = |clinicians: &str| {
            format!(
                r#"{{"name":"H","time_zone":"UTC","services":[],"form":{{"phone":"hidden","note":"hidden"}},
                "notice":null,"privacy_url":null{clinicians}}}"#
            )
        };
        assert!(
            parse::<PracticeInfo>(&practice("")).is_some(),
            "no clinicians"
        );
        assert!(
            parse::<PracticeInfo>(&practice(r#","clinicians":{"id":"dana"}"#)).is_none(),
            "not a list"
        );
        assert!(
            parse::<PracticeInfo>(&practice(
                r#","clinicians":[{"id":"dana","name":"Dana","pronouns":null,"bio":null,"services":[7]}]"#
            ))
            .is_none(),
            "a service id that is not a string"
        );
    }

    #[wasm_bindgen_test]
    fn reads_unknown_error_codes_as_other() {
        let problem = parse::<Problem>(
            r#"{"type":"about:blank","title":"t","status":418,"code":"brand_new_code",
                "detail":"d","field":null,"retryable":false}"#,
        );
        assert_eq!(problem.map(|p| p.code), Some(ErrorCode::Other));
    }

    #[wasm_bindgen_test]
    fn writes_a_booking_request_the_adapter_accepts() {
        let both = [
            (None, None, None),
            (Some("+1 555 0100"), Some("es-MX"), Some("dana")),
        ];
        for (phone, locale, clinician) in both {
            let request = BookingRequest {
                service: "free-consultation".into(),
                clinician: clinician.map(Into::into),
                start: at("2026-12-01T14:00:00Z"),
                client: ClientDetails {
                    name: "Sam Lee".into(),
                    email: "sam@example.org".into(),
                    phone: phone.map(Into::into),
                },
                client_time_zone: Some("Europe/Berlin".into()),
                locale: locale.map(Into::into),
                note: None,
                consent: true,
                website: String::new(),
            };
            // serde refuses unknown fields here, as the adapter does.
            let read: BookingRequest = serde_json::from_str(&booking_request(&request)).unwrap();
            assert_eq!(read, request);
        }
        assert_eq!(
            instant_text(at("2026-12-01T14:00:00Z")),
            "2026-12-01T14:00:00Z"
        );
    }

    #[wasm_bindgen_test]
    fn writes_a_reschedule_request_the_adapter_accepts() {
        let start = at("2026-12-02T09:30:00Z");
        let read: firststep_protocol::RescheduleRequest =
            serde_json::from_str(&reschedule_request(start)).unwrap();
        assert_eq!(read.start, start);
    }
}
