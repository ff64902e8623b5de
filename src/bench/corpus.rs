//! A deterministic event generator for benchmarks: realistic log lines in fixed proportions —
//! 45% sshd/PAM/sudo/su/cron syslog, 20% web access logs, 10% kernel/iptables firewall lines,
//! 25% JSON events — as queue messages (`1:<location>:<line>`), half of them from agents; and a
//! correlation-heavy variant where a third of the lines are authentication failures.

/// A small xorshift generator: the same seed always gives the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn ip(&mut self) -> String {
        format!("{}.{}.{}.{}", 10 + self.below(200), self.below(256), self.below(256), 1 + self.below(254))
    }
}

const USERS: &[&str] = &["root", "admin", "alice", "bob", "deploy", "postgres", "ubuntu", "oracle"];
const HOSTS: &[&str] = &["web01", "web02", "db01", "bastion", "mail01", "fw01"];
const PATHS: &[&str] = &[
    "/",
    "/index.php?id=12",
    "/login",
    "/wp-login.php",
    "/api/v1/items?page=3",
    "/static/app.js",
    "/../../etc/passwd",
];
const AGENTS: &[&str] = &["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "sqlmap/1.7", "Googlebot/2.1"];

fn timestamp(rng: &mut Rng) -> String {
    format!("Nov {:2} {:02}:{:02}:{:02}", 1 + rng.below(28), rng.below(24), rng.below(60), rng.below(60))
}

fn auth_line(rng: &mut Rng) -> String {
    let (ts, host, user, ip) = (timestamp(rng), rng.pick(HOSTS), rng.pick(USERS), rng.ip());
    let pid = 1000 + rng.below(60000);
    let port = 1024 + rng.below(60000);
    match rng.below(10) {
        0 | 1 => format!("{ts} {host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2"),
        2 => format!("{ts} {host} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"),
        3 => format!(
            "{ts} {host} sshd[{pid}]: Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
        ),
        4 => format!(
            "{ts} {host} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
        ),
        5 => {
            format!("{ts} {host} sshd[{pid}]: Disconnected from authenticating user {user} {ip} port {port} [preauth]")
        }
        6 => format!(
            "{ts} {host} sudo:   {user} : TTY=pts/{} ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
            rng.below(9)
        ),
        7 => format!("{ts} {host} su[{pid}]: pam_unix(su:session): session opened for user root by {user}(uid=1000)"),
        8 => format!("{ts} {host} CRON[{pid}]: pam_unix(cron:session): session opened for user {user} by (uid=0)"),
        _ => format!("{ts} {host} CRON[{pid}]: ({user}) CMD (/usr/local/bin/backup.sh --quiet)"),
    }
}

fn web_line(rng: &mut Rng) -> String {
    let status = *[200u32, 200, 200, 301, 404, 403, 500].get(rng.below(7) as usize).unwrap_or(&200);
    format!(
        "{} - - [{:02}/Nov/2026:{:02}:{:02}:{:02} +0000] \"{} {} HTTP/1.1\" {status} {} \"-\" \"{}\"",
        rng.ip(),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.pick(&["GET", "GET", "POST", "HEAD"]),
        rng.pick(PATHS),
        100 + rng.below(90_000),
        rng.pick(AGENTS),
    )
}

fn firewall_line(rng: &mut Rng) -> String {
    let (ts, host, src, dst) = (timestamp(rng), rng.pick(HOSTS), rng.ip(), rng.ip());
    let proto = rng.pick(&["TCP", "UDP"]);
    format!(
        "{ts} {host} kernel: [{}.{:06}] {} IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={src} DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID={} DF PROTO={proto} SPT={} DPT={} WINDOW=29200 RES=0x00 SYN URGP=0",
        rng.below(900_000),
        rng.below(1_000_000),
        rng.pick(&["DROP", "REJECT", "IPTABLES-IN"]),
        rng.below(65535),
        1024 + rng.below(60000),
        rng.pick(&["22", "80", "443", "3389", "23"]),
    )
}

fn json_line(rng: &mut Rng) -> String {
    let (src, dst) = (rng.ip(), rng.ip());
    match rng.below(3) {
        0 => format!(
            r#"{{"timestamp":"2026-11-27T19:00:{:02}.000000+0000","flow_id":{},"event_type":"alert","src_ip":"{src}","src_port":{},"dest_ip":"{dst}","dest_port":{},"proto":"TCP","alert":{{"action":"allowed","gid":1,"signature_id":{},"rev":3,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}}}"#,
            rng.below(60),
            rng.next() % 1_000_000_000_000,
            1024 + rng.below(60000),
            rng.pick(&["22", "80", "443"]),
            2_000_000 + rng.below(10_000),
        ),
        1 => format!(
            r#"{{"integration":"aws","aws":{{"source":"cloudtrail","eventName":"{}","awsRegion":"us-east-1","sourceIPAddress":"{src}","userIdentity":{{"type":"IAMUser","userName":"{}"}},"eventSource":"signin.amazonaws.com"}}}}"#,
            rng.pick(&["ConsoleLogin", "GetObject", "CreateUser", "DeleteBucket"]),
            rng.pick(USERS),
        ),
        _ => format!(
            r#"{{"srcip":"{src}","dstip":"{dst}","user":"{}","action":"{}","status":"{}","app":{{"name":"portal","version":"2.{}.0"}},"tags":["auth","web"]}}"#,
            rng.pick(USERS),
            rng.pick(&["login", "logout", "password-change"]),
            rng.pick(&["success", "failure"]),
            rng.below(9),
        ),
    }
}

/// `count` queue messages in the fixed mix, the same for the same `seed`.
pub fn mix(count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed | 1);
    (0..count)
        .map(|i| {
            let line = match rng.below(100) {
                0..45 => auth_line(&mut rng),
                45..65 => web_line(&mut rng),
                65..75 => firewall_line(&mut rng),
                _ => json_line(&mut rng),
            };
            let location = if i % 2 == 0 {
                "/var/log/auth.log".to_owned()
            } else {
                format!("[{:03}] ({}) any->/var/log/messages", 1 + rng.below(500), rng.pick(HOSTS))
            };
            format!("1:{location}:{line}").into_bytes()
        })
        .collect()
}

/// Source addresses an attack corpus draws from.
const ATTACKERS: u64 = 300;

fn failure_line(rng: &mut Rng) -> String {
    let (ts, host, user) = (timestamp(rng), rng.pick(HOSTS), rng.pick(USERS));
    let n = rng.below(ATTACKERS);
    let ip = format!("203.0.{}.{}", n / 250, 1 + n % 250);
    let (pid, port) = (1000 + rng.below(60000), 1024 + rng.below(60000));
    match rng.below(4) {
        0 => format!("{ts} {host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2"),
        1 => format!("{ts} {host} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"),
        2 => format!("{ts} {host} sshd[{pid}]: Invalid user {user} from {ip} port {port}"),
        _ => format!(
            "{ts} {host} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
        ),
    }
}

/// The [`mix`] with every third line replaced by an sshd/PAM authentication failure from one of
/// a few hundred addresses: brute-force correlation runs all the time.
pub fn auth_heavy(count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed.rotate_left(17) | 1);
    let mut lines = mix(count, seed);
    for line in lines.iter_mut().step_by(3) {
        *line = format!("1:/var/log/auth.log:{}", failure_line(&mut rng)).into_bytes();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_mix_in_proportion() {
        let a = mix(2000, 7);
        assert_eq!(a, mix(2000, 7));
        assert_ne!(a, mix(2000, 8));
        let json = a.iter().filter(|l| l.windows(2).any(|w| w == b":{")).count();
        assert!((400..600).contains(&json), "about 25% JSON, got {json} of 2000");
    }

    #[test]
    fn auth_heavy_is_a_third_failures_from_few_addresses() {
        let lines = auth_heavy(3000, 7);
        let failures: Vec<String> =
            lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).filter(|l| l.contains("203.0.")).collect();
        assert_eq!(failures.len(), 1000);
        let mut sources: Vec<&str> =
            failures.iter().filter_map(|l| l.split_whitespace().find(|w| w.contains("203.0."))).collect();
        sources.sort_unstable();
        sources.dedup();
        assert!(sources.len() <= 2 * ATTACKERS as usize, "a few hundred sources, got {}", sources.len());
    }
}
