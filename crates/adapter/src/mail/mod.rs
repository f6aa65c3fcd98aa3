//! Email: plain, private text through SMTP (lettre over rustls), sent from
//! the outbox so an SMTP outage delays mail and never loses it.
//!
//! # Layout
//! - [`compose`]: each email of a request's life, from its template file
//!   (`templates/mail/{en,es}/`), in the reader's language and time zone.
//! - [`meeting`]: how a consultation happens, in words (emails, calendar entries).
//! - [`signed_link`]: HMAC-signed, expiring links to confirm or decline.
//! - [`Mailer`]: the SMTP connection.

pub mod compose;
pub mod meeting;
pub mod signed_link;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::Address;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailSettings, SmtpTls};
use crate::outbox::Failure;

/// One email, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    /// Who gets a copy: the practice, of a clinician's email when
    /// `mail.cc_practice` says so.
    pub cc: Option<String>,
    /// One line.
    pub subject: String,
    /// Line breaks are CRLF, never a bare CR or LF.
    pub body: String,
    /// A calendar file to attach (`consultation.ics`).
    pub ics: Option<String>,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let host = settings.smtp_host.as_str();
        let builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let mut builder = builder
            .port(settings.smtp_port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings.from.parse()?,
        })
    }

    /// Sends one email. A failure says whether trying again may help: an
    /// address that is not one, or an SMTP 5xx, will not. Its reason holds
    /// no personal data (an SMTP answer may echo the address, so only its
    /// code is kept).
    pub async fn send(&self, email: &Email) -> Result<(), Failure> {
        let to: Address = email
            .to
            .parse()
            .map_err(|e| Failure::permanent(format!("the recipient address is not valid: {e}")))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(email.subject.clone());
        if let Some(cc) = &email.cc {
            let cc: Address = cc
                .parse()
                .map_err(|e| Failure::permanent(format!("the copy's address is not valid: {e}")))?;
            builder = builder.cc(Mailbox::new(None, cc));
        }
        let message = match &email.ics {
            None => builder.singlepart(SinglePart::plain(email.body.clone())),
            Some(ics) => builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(email.body.clone()))
                    .singlepart(Attachment::new("consultation.ics".into()).body(
                        ics.clone(),
                        ContentType::parse("text/calendar; charset=utf-8").expect("a media type"),
                    )),
            ),
        }
        .map_err(|e| Failure::permanent(format!("composing the email: {e}")))?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            let reason = match e.status() {
                Some(code) => format!("SMTP: the server answered {code}"),
                None => format!("SMTP: {e}"),
            };
            if e.is_permanent() {
                Failure::permanent(reason)
            } else {
                Failure::transient(reason)
            }
        })
    }
}
