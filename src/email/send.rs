//! Sending over SMTP with lettre: plain (Wazuh's only way), STARTTLS, or TLS from the first
//! byte, with authentication when `<smtp_user>` and `<smtp_password_file>` are set (only over
//! TLS: a password never crosses the network in clear). Headers as maild writes them: `From:
//! Wazuh <…>`, `Reply-To`, `To`, `Date`, `X-IDS-OSSEC`, `Subject`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport as _};

use super::outbox::Mail;
use crate::config::{Global, SmtpTls};

/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The SMTP client.
pub struct Sender {
    transport: SmtpTransport,
    from: String,
    reply_to: Option<String>,
    ids_name: Option<String>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("from", &self.from).finish_non_exhaustive()
    }
}

impl Sender {
    /// A client per `<global>` (files under `home`).
    pub fn new(home: &Path, global: &Global) -> anyhow::Result<Self> {
        let server = global.smtp_server.as_deref().context("<smtp_server> is missing")?;
        if server.starts_with('/') {
            bail!("<smtp_server> '{server}' is a program: vigil sends over SMTP only");
        }
        let from = global.email_from.clone().context("<email_from> is missing")?;
        let mut builder = SmtpTransport::builder_dangerous(server).port(global.smtp_port).timeout(Some(TIMEOUT));
        if let Some(helo) = &global.helo_server {
            builder = builder.hello_name(ClientId::Domain(helo.clone()));
        } else {
            builder = builder.hello_name(ClientId::Domain("notify.ossec.net".into()));
        }
        let tls = match global.smtp_tls {
            SmtpTls::None => None,
            mode => {
                let mut params = TlsParameters::builder(server.to_owned());
                if let Some(ca) = &global.smtp_ca_file {
                    let path = home.join(ca);
                    let pem = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    params = params
                        .certificate_store(CertificateStore::None)
                        .add_root_certificate(Certificate::from_pem(&pem).context("<smtp_ca_file>")?);
                }
                let params = params.build().context("SMTP TLS settings")?;
                Some(if mode == SmtpTls::Tls { Tls::Wrapper(params) } else { Tls::Required(params) })
            }
        };
        builder = builder.tls(tls.unwrap_or(Tls::None));
        match (&global.smtp_user, &global.smtp_password_file) {
            (Some(user), Some(file)) => {
                if global.smtp_tls == SmtpTls::None {
                    bail!(
                        "SMTP authentication needs <smtp_tls> starttls or tls: the password would cross the network in clear"
                    );
                }
                let path = crate::home::inside(home, file).map_err(|e| anyhow::anyhow!("<smtp_password_file>: {e}"))?;
                let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let password = text.lines().next().unwrap_or("").to_owned();
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (None, None) => {}
            _ => bail!("<smtp_user> and <smtp_password_file> go together"),
        }
        Ok(Self {
            transport: builder.build(),
            from,
            reply_to: global.email_reply_to.clone(),
            ids_name: global.email_idsname.clone(),
        })
    }

    /// The message for `mail`.
    pub fn message(&self, mail: &Mail) -> anyhow::Result<Message> {
        let mut builder = Message::builder().from(format!("Wazuh <{}>", self.from).parse().context("<email_from>")?);
        if let Some(reply) = &self.reply_to {
            builder = builder.reply_to(format!("Wazuh <{reply}>").parse().context("<email_reply_to>")?);
        }
        for to in &mail.to {
            builder = builder.to(to.parse().with_context(|| format!("recipient '{to}'"))?);
        }
        if let Some(name) = &self.ids_name {
            builder = builder.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-IDS-OSSEC"), name.clone()));
        }
        builder
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .context("cannot build the message")
    }

    /// Sends `mail`.
    pub fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = self.message(mail)?;
        self.transport.send(&message).map(|_| ()).context("SMTP")
    }
}
