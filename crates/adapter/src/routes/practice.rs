use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use firststep_protocol::{ClinicianInfo, PracticeInfo, ServiceInfo};

use super::AppState;
use crate::config::{Meeting, PracticeSettings};

/// `GET /v1/practice`.
pub async fn show(State(app): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        app.practice_body.clone(),
    )
}

/// The body of `GET /v1/practice`, made once at start-up.
pub fn practice_body(practice: &PracticeSettings) -> Vec<u8> {
    let info = PracticeInfo {
        name: practice.name.clone(),
        time_zone: practice.zone.name().to_owned(),
        services: practice
            .services
            .iter()
            .map(|s| ServiceInfo {
                id: s.id.clone(),
                title: s.title.clone(),
                duration_minutes: s.duration_minutes,
                mode: s.mode,
                // The kind of meeting and an office's address are public; a video room never is.
                location: s.meeting.as_ref().map(|m| m.kind().to_owned()),
                address: match &s.meeting {
                    Some(Meeting::InPerson { address }) => Some(address.clone()),
                    _ => None,
                },
                description: s.description.clone(),
            })
            .collect(),
        form: practice.form,
        notice: practice.notice.clone(),
        privacy_url: practice.privacy_url.clone(),
        clinicians: practice
            .clinicians
            .iter()
            .map(|c| ClinicianInfo {
                id: c.id.clone(),
                name: c.name.clone(),
                pronouns: c.pronouns.clone(),
                bio: c.bio.clone(),
                services: practice
                    .services
                    .iter()
                    .filter(|s| s.clinicians.contains(&c.id))
                    .map(|s| s.id.clone())
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_vec(&info).expect("practice info serializes")
}
