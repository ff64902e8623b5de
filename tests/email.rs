//! E-mail alerts through a real SMTP server (Python's aiosmtpd, from `tests/email/`) that
//! requires STARTTLS and authentication: maild's subject and body, the granular recipients, and
//! grouping; and a server that cannot be trusted gets nothing (the certificate is checked).

mod common;

use std::io::BufRead as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::certs;
use common::server::{free_port, log, serve_prepared, wait_for};
use serde_json::Value;

/// The SMTP server, stopped when dropped.
struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, and another CA that did not sign it.
fn certificates(dir: &Path) {
    certs::ca(dir, "ca");
    certs::ca(dir, "other");
    certs::server(dir, "ca", "smtp");
}

fn start_smtp(dir: &Path, port: u16) -> Smtp {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/email/smtp_server.py");
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).expect("mail dir");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(&mail)
        .arg(port.to_string())
        .arg(dir.join("smtp.pem"))
        .arg(dir.join("smtp.key"))
        .args(["vigil", "s3cret"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 smtp_server.py (pip install aiosmtpd)");
    let mut ready = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout).read_line(&mut ready).expect("ready line");
    assert_eq!(ready.trim(), "ready", "the SMTP server did not start");
    Smtp(child)
}

fn received(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("mail"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.iter().map(|f| serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("JSON")).collect()
}

fn global(port: u16, ca: &Path) -> String {
    format!(
        "<ossec_config><global><email_notification>yes</email_notification><smtp_server>127.0.0.1</smtp_server>\
         <smtp_port>{port}</smtp_port><smtp_tls>starttls</smtp_tls><smtp_user>vigil</smtp_user>\
         <smtp_password_file>etc/smtp.password</smtp_password_file><smtp_ca_file>{}</smtp_ca_file>\
         <email_from>vigil@example.com</email_from><email_to>soc@example.com</email_to><email_reply_to>noreply@example.com</email_reply_to>\
         <email_idsname>vigil-test</email_idsname><email_maxperhour>10</email_maxperhour></global>\
         <alerts><email_alert_level>10</email_alert_level></alerts>\
         <email_alerts><email_to>pager@example.com</email_to><rule_id>100301</rule_id><format>sms</format></email_alerts>\
         <email_alerts><email_to>web@example.com</email_to><level>3</level><event_location>app.log</event_location></email_alerts>\
         </ossec_config>\n",
        ca.display()
    )
}

const RULES: &str = r#"<group name="vigil_mail,">
  <rule id="100300" level="10"><match>mail-one</match><description>Mail test: one</description></rule>
  <rule id="100301" level="12"><match>mail-two</match><description>Mail test: two</description></rule>
  <rule id="100302" level="3"><match>mail-low</match><description>Mail test: low</description></rule>
</group>
"#;

fn serve(ca: &Path, smtp_port: u16) -> common::server::Running {
    serve_prepared("E-mail notification", |home, _, config| {
        std::fs::write(home.join("etc/rules/mail_test.xml"), RULES).expect("rules");
        std::fs::write(home.join("etc/smtp.password"), "s3cret\n").expect("password");
        format!("{config}{}", global(smtp_port, ca))
    })
}

fn send(home: &Path, lines: &[&str]) {
    let sender = UnixDatagram::unbound().expect("socket");
    for line in lines {
        sender
            .send_to(format!("1:/var/log/app.log:{line}").as_bytes(), home.join("queue/sockets/queue"))
            .expect("send");
    }
}

#[test]
fn alerts_are_mailed_over_starttls_with_authentication() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificates(dir.path());
    let port = free_port();
    let _smtp = start_smtp(dir.path(), port);
    let server = serve(&dir.path().join("ca.pem"), port);
    let home = server.home().to_owned();
    send(&home, &["mail-one first", "mail-two second", "mail-low third"]);

    // The SMS at once; then one grouped message per recipient.
    wait_for("the messages", Duration::from_secs(20), || received(dir.path()).len() >= 3);
    std::thread::sleep(Duration::from_secs(3));
    let mails = received(dir.path());
    assert!(mails.iter().all(|m| m["tls"] == true && m["authenticated"] == true), "{mails:?}");
    let to = |who: &str| {
        mails
            .iter()
            .filter(|m| m["to"].as_array().is_some_and(|t| t.iter().any(|a| a == who)))
            .cloned()
            .collect::<Vec<_>>()
    };
    let sms = to("pager@example.com");
    assert_eq!(sms.len(), 1, "{mails:?}");
    let sms = sms[0]["data"].as_str().expect("data");
    assert!(sms.contains("Subject: Wazuh 12 - 100301 - Mail test: two"), "{sms}");
    let soc = to("soc@example.com");
    assert_eq!(soc.len(), 1, "both mailed alerts in one message: {mails:?}");
    let soc = soc[0]["data"].as_str().expect("data");
    assert!(soc.contains("From: Wazuh <vigil@example.com>"), "{soc}");
    assert!(soc.contains("Reply-To: Wazuh <noreply@example.com>"), "{soc}");
    assert!(soc.contains("X-IDS-OSSEC: vigil-test"), "{soc}");
    assert!(soc.contains("Alert level 12"), "the highest level's subject: {soc}");
    assert!(
        soc.contains("Rule: 100300 fired (level 10) -> \"Mail test: one\"")
            && soc.contains("Rule: 100301 fired (level 12)"),
        "{soc}"
    );
    assert!(soc.contains("Portion of the log(s):") && soc.contains("mail-one first"), "{soc}");
    assert!(
        !mails.iter().any(|m| m["data"].as_str().is_some_and(|d| d.contains("mail-low"))),
        "level 3 is not for mail"
    );
    let web = to("web@example.com");
    assert_eq!(web.len(), 1, "{mails:?}");
    assert!(
        web[0]["data"].as_str().is_some_and(|d| d.contains("mail-two second") && d.contains("mail-one first")),
        "{web:?}"
    );
    let prom = std::fs::read_to_string(home.join("var/run/vigil.prom")).unwrap_or_default();
    assert!(!prom.contains("vigil_email_failed_total 1"), "{prom}");
}

#[test]
fn an_untrusted_smtp_server_gets_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    certificates(dir.path());
    let port = free_port();
    let _smtp = start_smtp(dir.path(), port);
    let server = serve(&dir.path().join("other.pem"), port);
    let home = server.home().to_owned();
    send(&home, &["mail-two refused"]);
    wait_for("the failure", Duration::from_secs(30), || log(&home).contains("e-mail given up"));
    assert!(received(dir.path()).is_empty(), "nothing reached a server whose certificate is not trusted");
}
