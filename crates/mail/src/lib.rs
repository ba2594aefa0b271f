//! E-mail for Portcullis: rendering messages from templates and delivering them, by SMTP or
//! into a folder of `.eml` files. Implements the core's `Mailer` port.
//!
//! May depend on: portcullis-core, lettre, minijinja.

mod file;
mod smtp;
mod templates;

pub use file::FileMailer;
pub use smtp::SmtpMailer;
pub use templates::{Rendered, Templates};

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use portcullis_core::outbox::{MailError, MailRequest};

/// Builds the MIME message: text and HTML alternatives.
pub(crate) fn build(
    from: &Mailbox,
    mail: &MailRequest,
    rendered: Rendered,
) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Permanent(format!("bad recipient address: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}

/// Parses the `From` setting (`Name <address>` or an address).
pub fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse::<Mailbox>()
        .map_err(|e| format!("bad sender address {from:?}: {e}"))
}
