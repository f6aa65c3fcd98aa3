//! The widget's parts, one per file: plain view functions (or a struct of
//! what to show with a `view`), called by the root component in its render.
//! Not function components: each adds some 0.6 KB gzip of Yew's lifecycle
//! code to the download, and Yew's skipping of a render with unchanged props
//! saves nothing here, since every action that renders the root changes what
//! the part on screen shows (a day chosen, a field typed in), and the root
//! makes each part's texts before any comparison could skip them.

mod booking_form;
mod confirmation;
mod day_list;
mod loading_skeleton;
mod pick_list;
mod problem_notice;
mod time_list;

pub use booking_form::{focus_field, BookingForm, FieldRefs};
pub use confirmation::Confirmation;
pub use day_list::{day_list, DayChoice};
pub use loading_skeleton::loading_skeleton;
pub use pick_list::{PickList, PickOption};
pub use problem_notice::problem_notice;
pub use time_list::{time_list, TimeChoice, TimeGroup};
