//! The widget's model, its pure core: state and its reducer, the steps
//! before the times (service, clinician), the form's fields and checks,
//! days, what can go wrong. Nothing here touches the
//! browser, so it compiles and is tested natively; the browser bridges and
//! the components depend on it, never the reverse.

pub mod api_error;
pub mod choices;
pub mod days;
pub mod form;
pub mod state;
