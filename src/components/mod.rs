//! The widget's parts, one function component per file.

mod booking_form;
mod confirmation;
mod day_list;
mod loading_skeleton;
mod problem_notice;
mod time_list;

pub use booking_form::BookingForm;
pub use confirmation::Confirmation;
pub use day_list::{DayChoice, DayList};
pub use loading_skeleton::LoadingSkeleton;
pub use problem_notice::ProblemNotice;
pub use time_list::{TimeChoice, TimeList};
