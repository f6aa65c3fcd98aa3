//! The widget's parts, one per file. Function components where Yew's
//! skipping of renders with unchanged props pays (the form, the day and time
//! lists); plain view functions and view structs for fragments with nothing to skip, since
//! each function component adds some 0.6 KB gzip of Yew's lifecycle code
//! to the download.

mod booking_form;
mod confirmation;
mod day_list;
mod loading_skeleton;
mod pick_list;
mod problem_notice;
mod time_list;

pub use booking_form::BookingForm;
pub use confirmation::Confirmation;
pub use day_list::{DayChoice, DayList};
pub use loading_skeleton::loading_skeleton;
pub use pick_list::{PickList, PickOption};
pub use problem_notice::problem_notice;
pub use time_list::{TimeChoice, TimeGroup, TimeList};
