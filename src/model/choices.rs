//! What the visitor books before any time: the service and, in a group
//! practice, the clinician. Each is named by the element's attribute, picked
//! by the visitor in its step, or the only one there is; a step is shown only
//! when there is something to choose.

use firststep_protocol::{BookingView, ClinicianInfo, PracticeInfo, ServiceInfo};

use super::api_error::ApiError;

/// The choices the element's attributes make (`service`, `clinician`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Named<'a> {
    pub service: Option<&'a str>,
    pub clinician: Option<&'a str>,
}

/// The visitor's own picks, in the steps shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Picks {
    /// The service picked in the service step.
    pub service: Option<String>,
    /// The answer of the clinician step: `Some(None)` is "first available".
    pub clinician: Option<Option<String>>,
}

/// Where the visitor stands before the times.
#[derive(Debug, PartialEq)]
pub enum Stage<'a> {
    /// Choose one of these services (those the named clinician offers).
    Services(Vec<&'a ServiceInfo>),
    /// Choose "first available" or one of these clinicians, who offer `service`.
    Clinicians(&'a ServiceInfo, Vec<&'a ClinicianInfo>),
    /// Book `service`, with this clinician; `None` lets the adapter assign
    /// one (first available, or a practice without clinicians).
    Book(&'a ServiceInfo, Option<&'a str>),
}

/// The stage for `practice`: an element naming a service or clinician the
/// practice does not have (or a clinician who does not offer the service)
/// is a set-up problem the visitor cannot fix.
pub fn stage<'a>(
    practice: &'a PracticeInfo,
    named: Named<'a>,
    picks: &'a Picks,
) -> Result<Stage<'a>, ApiError> {
    let clinician = match named.clinician {
        Some(id) => Some(
            practice
                .clinicians
                .iter()
                .find(|c| c.id == id)
                .ok_or(ApiError::UnknownClinician)?,
        ),
        None => None,
    };
    let offers = |service: &ServiceInfo| clinician.is_none_or(|c| c.services.contains(&service.id));
    let service = match named.service.or(picks.service.as_deref()) {
        Some(id) => {
            let service = practice
                .services
                .iter()
                .find(|s| s.id == id)
                .ok_or(ApiError::UnknownService)?;
            if !offers(service) {
                return Err(ApiError::UnknownClinician);
            }
            service
        }
        None => {
            let mut offered = Vec::new();
            for service in &practice.services {
                if offers(service) {
                    offered.push(service);
                }
            }
            if offered.len() > 1 {
                return Ok(Stage::Services(offered));
            }
            offered.pop().ok_or(ApiError::UnknownService)?
        }
    };
    if let Some(clinician) = clinician {
        return Ok(Stage::Book(service, Some(&clinician.id)));
    }
    if let Some(picked) = &picks.clinician {
        return Ok(Stage::Book(service, picked.as_deref()));
    }
    let mut candidates = Vec::new();
    for clinician in &practice.clinicians {
        if clinician.services.contains(&service.id) {
            candidates.push(clinician);
        }
    }
    // With one candidate, "first available" is that person: nothing to choose.
    Ok(if candidates.len() > 1 {
        Stage::Clinicians(service, candidates)
    } else {
        Stage::Book(service, None)
    })
}

/// The stage of a booking being moved: within its own service and with its
/// own clinician, so no step asks (whoever the practice lists today).
pub fn of_booking<'a>(
    practice: &'a PracticeInfo,
    booking: &'a BookingView,
) -> Result<Stage<'a>, ApiError> {
    let service = practice
        .services
        .iter()
        .find(|s| s.id == booking.service)
        .ok_or(ApiError::UnknownService)?;
    Ok(Stage::Book(
        service,
        booking.clinician.as_ref().map(|c| c.id.as_str()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use firststep_protocol::{BookingMode, FieldRule, FormSettings};

    fn service(id: &str) -> ServiceInfo {
        ServiceInfo {
            id: id.into(),
            title: id.into(),
            duration_minutes: 15,
            mode: BookingMode::Request,
            location: None,
            address: None,
            description: None,
        }
    }

    fn clinician(id: &str, services: &[&str]) -> ClinicianInfo {
        ClinicianInfo {
            id: id.into(),
            name: id.into(),
            pronouns: None,
            bio: None,
            services: services.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A group practice: an intake call everyone offers, couples therapy only Lee does.
    fn group() -> PracticeInfo {
        PracticeInfo {
            name: "Harbour".into(),
            time_zone: "America/New_York".into(),
            services: vec![service("intake"), service("couples")],
            form: FormSettings {
                phone: FieldRule::Optional,
                note: FieldRule::Hidden,
            },
            notice: None,
            privacy_url: None,
            clinicians: vec![
                clinician("dana", &["intake"]),
                clinician("lee", &["intake", "couples"]),
                clinician("sam", &["intake"]),
            ],
        }
    }

    fn ids<T>(items: &[&T], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|item| id(item).to_owned()).collect()
    }

    /// The stage as plain words: "services intake couples", "clinicians of
    /// intake: dana lee sam", "book intake with lee" / "… with anyone".
    fn said(practice: &PracticeInfo, named: Named, picks: &Picks) -> String {
        match stage(practice, named, picks) {
            Err(error) => format!("{error:?}"),
            Ok(Stage::Services(list)) => format!("services {}", ids(&list, |s| &s.id).join(" ")),
            Ok(Stage::Clinicians(service, list)) => format!(
                "clinicians of {}: {}",
                service.id,
                ids(&list, |c| &c.id).join(" ")
            ),
            Ok(Stage::Book(service, clinician)) => {
                format!("book {} with {}", service.id, clinician.unwrap_or("anyone"))
            }
        }
    }

    fn named<'a>(service: Option<&'a str>, clinician: Option<&'a str>) -> Named<'a> {
        Named { service, clinician }
    }

    #[test]
    fn a_practice_of_one_service_and_no_clinicians_goes_straight_to_the_times() {
        let mut practice = group();
        practice.services.truncate(1);
        practice.clinicians.clear();
        let picks = Picks::default();
        assert_eq!(
            said(&practice, Named::default(), &picks),
            "book intake with anyone"
        );
        assert_eq!(
            said(&practice, named(Some("couples"), None), &picks),
            "UnknownService"
        );
        assert_eq!(
            said(&practice, named(None, Some("dana")), &picks),
            "UnknownClinician",
            "a practice without clinicians has no Dana"
        );
    }

    #[test]
    fn several_services_and_none_named_ask_for_one_then_for_the_clinician() {
        let practice = group();
        let mut picks = Picks::default();
        assert_eq!(
            said(&practice, Named::default(), &picks),
            "services intake couples"
        );
        picks.service = Some("intake".into());
        assert_eq!(
            said(&practice, Named::default(), &picks),
            "clinicians of intake: dana lee sam"
        );
        picks.clinician = Some(None);
        assert_eq!(
            said(&practice, Named::default(), &picks),
            "book intake with anyone"
        );
        picks.clinician = Some(Some("sam".into()));
        assert_eq!(
            said(&practice, Named::default(), &picks),
            "book intake with sam"
        );
    }

    #[test]
    fn the_clinician_step_lists_only_those_who_offer_the_service_and_is_skipped_for_one() {
        let practice = group();
        let picks = Picks {
            service: Some("couples".into()),
            clinician: None,
        };
        assert_eq!(
            said(&practice, Named::default(), &picks),
            "book couples with anyone",
            "only Lee offers it: nothing to choose"
        );
        let mut two = group();
        two.clinicians[0].services.push("couples".into());
        assert_eq!(
            said(&two, Named::default(), &picks),
            "clinicians of couples: dana lee"
        );
    }

    #[test]
    fn what_the_element_names_is_never_asked() {
        let practice = group();
        let picks = Picks::default();
        assert_eq!(
            said(&practice, named(Some("intake"), Some("dana")), &picks),
            "book intake with dana"
        );
        assert_eq!(
            said(&practice, named(Some("intake"), None), &picks),
            "clinicians of intake: dana lee sam"
        );
        // Dana offers one service: no service step either.
        assert_eq!(
            said(&practice, named(None, Some("dana")), &picks),
            "book intake with dana"
        );
        // Lee offers both: the service step lists Lee's.
        assert_eq!(
            said(&practice, named(None, Some("lee")), &picks),
            "services intake couples"
        );
    }

    #[test]
    fn an_element_naming_what_the_practice_lacks_is_a_set_up_problem() {
        let practice = group();
        let picks = Picks::default();
        assert_eq!(
            said(&practice, named(None, Some("robin")), &picks),
            "UnknownClinician"
        );
        assert_eq!(
            said(&practice, named(Some("couples"), Some("dana")), &picks),
            "UnknownClinician",
            "Dana does not offer couples therapy"
        );
        assert_eq!(
            said(&practice, named(Some("yoga"), None), &picks),
            "UnknownService"
        );
    }

    #[test]
    fn a_booking_being_moved_keeps_its_service_and_clinician_and_asks_nothing() {
        let practice = group();
        let booking = |service: &str, clinician: Option<&str>| BookingView {
            id: "b1".into(),
            status: firststep_protocol::BookingStatus::Confirmed,
            service: service.into(),
            start: chrono::DateTime::UNIX_EPOCH,
            end: chrono::DateTime::UNIX_EPOCH,
            expires_at: None,
            video_url: None,
            clinician: clinician.map(|id| firststep_protocol::ClinicianRef {
                id: id.into(),
                name: id.into(),
            }),
        };
        let said = |booking: &BookingView| match of_booking(&practice, booking) {
            Ok(Stage::Book(service, clinician)) => {
                format!("book {} with {}", service.id, clinician.unwrap_or("anyone"))
            }
            other => format!("{other:?}"),
        };
        // Several services and clinicians, yet no step: the booking says which.
        assert_eq!(
            said(&booking("couples", Some("lee"))),
            "book couples with lee"
        );
        // Someone the practice no longer lists keeps their booking's times.
        assert_eq!(
            said(&booking("intake", Some("gone"))),
            "book intake with gone"
        );
        assert_eq!(said(&booking("intake", None)), "book intake with anyone");
        assert_eq!(said(&booking("yoga", None)), "Err(UnknownService)");
    }
}
