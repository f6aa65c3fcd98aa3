//! Black-box API tests: the real server on a random port with a fresh
//! temporary store, driven over HTTP. One file per endpoint.

#[allow(dead_code)] // what the replica tests use beside
#[path = "../support/adapter_process.rs"]
mod adapter_process;
mod backup;
mod booking_page;
mod booking_page_clinicians;
mod busy_feeds;
mod caldav;
mod calendar_file;
mod check_config;
mod clinicians;
mod cors;
mod create_booking;
mod durability;
mod edge;
mod google;
mod google_standin;
mod graceful_stop;
mod health;
mod helpers;
mod lifecycle;
mod mail_safety;
mod manage_booking;
mod meeting;
mod metrics;
mod microsoft;
mod microsoft_standin;
mod oauth_calendars;
mod pages;
mod parsers_never_panic;
#[path = "../support/postgres.rs"]
mod postgres_cluster;
mod practice;
mod practice_feed;
mod practices;
mod privacy;
mod privacy_at_rest;
mod radicale;
mod reminders;
mod reschedule;
mod retention;
mod slots;
mod smtp_server;
mod text_browser;
mod trusted_proxies;
mod visitor_rights;
mod visitor_text;
