//! The agent connection service in a real `vigil serve`, on io_uring and on epoll: start-up and
//! keepalive acks, status in the store, events to alerts.json with the agent's fields, the
//! manager's "Agent stopped" event, Blowfish, and bad frames closing only their connection.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::agent::{Agent, Connection, KEEPALIVE, add_agent};
use common::agents_json;
use common::server::{Running, log, replace_block, serve_prepared, wait_for};
use vigil::secmsg::{self, AgentKeys, Cipher, Counters};

/// A server with the secure listener on a free port, `driver` as its I/O driver, and
/// enrollment off; `agents` are added first.
fn serve(driver: &str, agents: &[(&str, Cipher)]) -> (Running, Vec<Agent>) {
    let mut added = Vec::new();
    let server = serve_prepared("Agent connection service listening", |home, port, config| {
        added = agents.iter().map(|(name, cipher)| add_agent(home, name, *cipher)).collect();
        let remote = format!(
            "<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol>\
             <io_driver>{driver}</io_driver><workers>2</workers><frame_timeout>1s</frame_timeout></remote>"
        );
        replace_block(&config, "remote", &remote)
            .replace("<disabled>no</disabled>", "<disabled>yes</disabled>")
            .replace("<agents_disconnection_time>15m<", "<agents_disconnection_time>2s<")
    });
    (server, added)
}

fn agent_json(home: &Path, id: &str) -> serde_json::Value {
    agents_json(home).into_iter().find(|a| a["id"] == id).expect("agent listed")
}

fn alerts(home: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(home.join("logs/alerts/alerts.json"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert line is JSON"))
        .collect()
}

fn agent_lifecycle(driver: &str, log_name: &str) {
    let (server, agents) =
        serve(driver, &[("web01", Cipher::Aes), ("legacy01", Cipher::Blowfish), ("quiet01", Cipher::Aes)]);
    let home = server.home().to_owned();
    assert!(log(&home).contains(&format!("driver={log_name}")), "{}", log(&home));

    for agent in &agents[..2] {
        let mut connection = Connection::open(server.port, agent);
        connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
        assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]), "the first message is the ack");
        wait_for("pending", Duration::from_secs(5), || agent_json(&home, &agent.id)["status"] == "pending");
        connection.send(KEEPALIVE.as_bytes());
        assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
        // The agent reported another merged.mg: the group's file follows the ack.
        let merged = std::fs::read(home.join("etc/shared/default/merged.mg")).expect("merged.mg is built");
        let sum = receive_file(&mut connection, &merged);
        let current = KEEPALIVE.replace("d6e3ac3e75ca0319af3e7c262776f331", &sum);
        connection.send(current.as_bytes());
        connection.send(current.as_bytes());
        assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
        assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]), "no second push once in step");
        wait_for("active", Duration::from_secs(5), || agent_json(&home, &agent.id)["status"] == "active");
        let shown = agent_json(&home, &agent.id);
        assert_eq!(
            (shown["os"]["name"].as_str(), shown["version"].as_str()),
            (Some("Debian GNU/Linux"), Some("Wazuh v4.14.7"))
        );
        assert_eq!(shown["last_ip"].as_str(), Some("10.0.2.15"));

        let line = format!(
            "1:/var/log/auth.log:Nov 27 12:00:00 {} sshd[99]: Failed password for root from 198.51.100.7 port 40000 ssh2",
            agent.name
        );
        connection.send(line.as_bytes());
        let name = agent.name.clone();
        wait_for("the agent's alert", Duration::from_secs(10), || {
            alerts(&home).iter().any(|a| a["agent"]["name"] == name.as_str())
        });
        let alert = alerts(&home).into_iter().find(|a| a["agent"]["name"] == agent.name.as_str()).expect("alert");
        assert_eq!(alert["agent"]["id"].as_str(), Some(agent.id.as_str()));
        assert_eq!(alert["location"].as_str(), Some("/var/log/auth.log"));

        connection.send(b"#!-agent shutdown ");
        wait_for("disconnected", Duration::from_secs(5), || agent_json(&home, &agent.id)["status"] == "disconnected");
        wait_for("Agent stopped", Duration::from_secs(10), || {
            alerts(&home).iter().any(|a| a["rule"]["id"] == "801103" && a["agent"]["id"] == agent.id.as_str())
        });
    }

    // An agent that goes silent is disconnected by the sweep, with its alert.
    let quiet = &agents[2];
    let mut connection = Connection::open(server.port, quiet);
    connection.send(KEEPALIVE.as_bytes());
    assert!(connection.receive().is_some());
    wait_for("active", Duration::from_secs(5), || agent_json(&home, &quiet.id)["status"] == "active");
    wait_for("the sweep", Duration::from_secs(10), || agent_json(&home, &quiet.id)["status"] == "disconnected");
    wait_for("Agent disconnected", Duration::from_secs(10), || {
        alerts(&home).iter().any(|a| a["rule"]["id"] == "801102" && a["agent"]["id"] == quiet.id.as_str())
    });

    // A frame under the wrong key closes that connection only.
    let web = &agents[0];
    let mut good = Connection::open(server.port, web);
    good.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert!(good.receive().is_some());
    // A request through queue/sockets/remote reaches the agent and its answer comes back.
    let socket = home.join("queue/sockets/remote");
    let command = format!("{} agent getconfig client", web.id);
    let requester = std::thread::spawn(move || local_request(&socket, command.as_bytes()));
    let request = String::from_utf8(good.receive().expect("the request")).expect("text");
    let counter = request
        .strip_prefix("#!-req ")
        .and_then(|r| r.strip_suffix(" agent getconfig client"))
        .expect("#!-req <counter> agent getconfig client")
        .to_owned();
    good.send(format!("#!-req {counter} ok {{\"client\":{{}}}}").as_bytes());
    assert_eq!(requester.join().expect("requester"), br#"ok {"client":{}}"#);
    let nobody = local_request(&home.join("queue/sockets/remote"), b"999 agent getconfig client");
    assert_eq!(nobody, b"err Cannot send request");

    // Active responses and raw control messages left in queue/alerts/ar reach the agent.
    let ar = std::os::unix::net::UnixDatagram::unbound().expect("socket");
    let execd = format!(r#"(local_source) [] NNS {} {{"version":1,"command":"firewall-drop0"}}"#, web.id);
    ar.send_to(execd.as_bytes(), home.join("queue/alerts/ar")).expect("send");
    assert_eq!(good.receive().as_deref(), Some(&br#"#!-execd {"version":1,"command":"firewall-drop0"}"#[..]));
    ar.send_to(format!("(msg_to_agent) [] N!S {} force_reconnect", web.id).as_bytes(), home.join("queue/alerts/ar"))
        .expect("send");
    assert_eq!(good.receive().as_deref(), Some(&b"#!-force_reconnect"[..]));

    let impostor = Agent { keys: AgentKeys::derive(&web.id, &web.name, &"f".repeat(64)), ..web.clone() };
    let mut bad = Connection::open(server.port, &impostor);
    bad.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(bad.receive(), None, "closed");
    let mut oversized = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    oversized.write_all(&70_000u32.to_le_bytes()).expect("write");
    // Slow-loris: half a frame header, then nothing; cut at the frame timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    slow.write_all(&[0x10, 0]).expect("write");
    slow.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let started = std::time::Instant::now();
    assert_eq!(slow.read(&mut [0u8; 8]).ok(), Some(0), "closed by the server");
    assert!(started.elapsed() < Duration::from_secs(5), "after {:?}", started.elapsed());
    good.send(KEEPALIVE.as_bytes());
    assert_eq!(good.receive().as_deref(), Some(&b"#!-agent ack "[..]), "the good connection is untouched");

    // One live connection per agent: another that does not start up is refused...
    let mut second = Connection::open(server.port, web);
    second.send(KEEPALIVE.as_bytes());
    assert_eq!(second.receive(), None, "key in use");
    // ...while one that starts up takes the agent over, and the old connection is closed.
    let mut third = Connection::open(server.port, web);
    third.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(third.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    let unread = (0..64).take_while(|_| good.receive().is_some()).count();
    assert!(unread < 64, "the old connection was closed");

    wait_for("counted drops", Duration::from_secs(5), || {
        let text = log(&home);
        text.contains("reason=wrong_key")
            && text.contains("reason=frame_too_large")
            && text.contains("reason=key_in_use")
    });

    // The counters, as remoted's getstats, its state file and Prometheus text show them.
    let stats: serde_json::Value =
        serde_json::from_slice(&local_request(&home.join("queue/sockets/remote"), br#"{"command":"getstats"}"#))
            .expect("JSON");
    let metrics = &stats["data"]["metrics"];
    assert!(metrics["messages"]["received_breakdown"]["event"].as_u64() >= Some(2), "{stats}");
    assert!(metrics["messages"]["received_breakdown"]["control_breakdown"]["keepalive"].as_u64() >= Some(7));
    assert!(metrics["messages"]["sent_breakdown"]["shared"].as_u64() >= Some(6), "two pushes of three messages");
    assert_eq!(metrics["messages"]["sent_breakdown"]["request"].as_u64(), Some(1));
    assert_eq!(metrics["messages"]["sent_breakdown"]["ar"].as_u64(), Some(1));
    assert!(metrics["bytes"]["received"].as_u64() > Some(1000));
    wait_for("the state files", Duration::from_secs(10), || {
        let state = std::fs::read_to_string(home.join("var/run/wazuh-remoted.state")).unwrap_or_default();
        let prom = std::fs::read_to_string(home.join("var/run/vigil.prom")).unwrap_or_default();
        state.contains("evt_count='")
            && !state.contains("evt_count='0'")
            && prom.contains("reason=\"wrong_key\"")
            && prom.contains(&format!("vigil_remote_io_driver{{driver=\"{log_name}\"}} 1"))
    });
}

/// One message to `queue/sockets/remote` and its answer, framed with LE u32 lengths.
fn local_request(socket: &Path, message: &[u8]) -> Vec<u8> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("connect to the remote socket");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let len = u32::try_from(message.len()).expect("short");
    stream.write_all(&len.to_le_bytes()).expect("write");
    stream.write_all(message).expect("write");
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).expect("answer length");
    let mut answer = vec![0u8; u32::from_le_bytes(header) as usize];
    stream.read_exact(&mut answer).expect("answer");
    answer
}

/// Reads a file push (`#!-up file <md5> merged.mg`, chunks, `#!-close file `), checks it carries
/// `expected` with its md5, and returns the md5.
fn receive_file(connection: &mut Connection<'_>, expected: &[u8]) -> String {
    let header = String::from_utf8(connection.receive().expect("push header")).expect("text");
    let sum = header
        .strip_prefix("#!-up file ")
        .and_then(|h| h.strip_suffix(" merged.mg\n"))
        .expect("#!-up file <md5> merged.mg");
    let mut content = Vec::new();
    loop {
        let message = connection.receive().expect("chunk");
        if message == b"#!-close file " {
            break;
        }
        assert!(message.len() <= 900, "chunks are at most 900 bytes");
        content.extend(message);
    }
    assert_eq!(content, expected);
    assert_eq!(String::from_utf8_lossy(&secmsg::key::hex_md5(&content)), sum);
    sum.to_owned()
}

#[test]
fn agents_connect_over_io_uring() {
    agent_lifecycle("auto", "io_uring");
}

#[test]
fn agents_connect_over_epoll() {
    agent_lifecycle("poll", "epoll");
}

/// Remote syslog: lines over UDP and TCP from an allowed source reach alerts.json with the
/// sender's address as location; the counters show them.
#[test]
fn syslog_senders_are_served_over_udp_and_tcp() {
    let syslog_port = common::server::free_port();
    let server = serve_prepared("Remote syslog listening on UDP", |_, port, config| {
        let remote = format!(
            "<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol></remote>\
             <remote><connection>syslog</connection><port>{syslog_port}</port><protocol>tcp</protocol>\
             <allowed-ips>127.0.0.0/8</allowed-ips><denied-ips>127.0.0.9</denied-ips></remote>\
             <remote><connection>syslog</connection><port>{syslog_port}</port><protocol>udp</protocol></remote>"
        );
        replace_block(&config, "remote", &remote).replace("<disabled>no</disabled>", "<disabled>yes</disabled>")
    });
    let home = server.home().to_owned();
    let line = |user: &str| {
        format!("<38>Nov 27 12:00:00 fw01 sshd[99]: Failed password for {user} from 198.51.100.7 port 40000 ssh2")
    };
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(format!("{}\n", line("udpuser")).as_bytes(), ("127.0.0.1", syslog_port)).expect("send");
    let mut tcp = TcpStream::connect(("127.0.0.1", syslog_port)).expect("connect");
    tcp.write_all(format!("{}\n{}\npartial", line("tcpuser1"), line("tcpuser2")).as_bytes()).expect("send");
    let found = |user: &str| {
        alerts(&home)
            .into_iter()
            .find(|a| a["data"]["dstuser"] == user || a["full_log"].as_str().is_some_and(|l| l.contains(user)))
    };
    wait_for("syslog alerts", Duration::from_secs(10), || {
        ["udpuser", "tcpuser1", "tcpuser2"].iter().all(|u| found(u).is_some())
    });
    for user in ["udpuser", "tcpuser1", "tcpuser2"] {
        let alert = found(user).expect("alert");
        assert_eq!(alert["location"].as_str(), Some("127.0.0.1"), "{alert}");
        assert_eq!(alert["agent"]["id"].as_str(), Some("000"), "the manager's own event");
        let full_log = alert["full_log"].as_str().unwrap_or_default();
        assert!(full_log.starts_with("Nov 27 12:00:00 fw01 sshd"), "the <PRI> header is removed: {full_log}");
    }
    assert!(found("partial").is_none(), "a line without its LF is not complete");
    // A denied source is refused, and counted.
    let denied = std::net::UdpSocket::bind("127.0.0.9:0").expect("udp");
    denied.send_to(line("denieduser").as_bytes(), ("127.0.0.1", syslog_port)).expect("send");
    wait_for("the refusal", Duration::from_secs(10), || {
        log(&home).contains("(1213): Message from '127.0.0.9' not allowed")
    });
    assert!(found("denieduser").is_none());
    wait_for("the counters", Duration::from_secs(10), || {
        let prom = std::fs::read_to_string(home.join("var/run/vigil.prom")).unwrap_or_default();
        prom.contains("vigil_syslog_events_total 3\n")
            && prom.contains("vigil_syslog_denied_total 1\n")
            && prom.contains("vigil_remote_udp_dropped_total{kind=\"syslog\"} 0\n")
    });
}

/// One agent speaking UDP: each datagram is one wire message.
struct Datagrams<'a> {
    socket: std::net::UdpSocket,
    server: std::net::SocketAddr,
    agent: &'a Agent,
    counters: Counters,
}

impl Datagrams<'_> {
    fn send(&mut self, payload: &[u8]) {
        let agent = self.agent;
        let sealed = secmsg::seal(&agent.keys, agent.cipher, self.counters.advance(), 777, payload).expect("seal");
        let wire = secmsg::compose(agent.cipher, &sealed, Some(&agent.id));
        self.socket.send_to(&wire, self.server).expect("send");
    }

    fn receive(&self) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; 70_000];
        let n = self.socket.recv(&mut buf).ok()?;
        let wire = secmsg::split(&buf[..n]).expect("wire");
        Some(secmsg::open(&self.agent.keys, wire.cipher, wire.ciphertext).expect("reply decrypts").payload)
    }
}

/// Agents over UDP: acks, the file push, events, a request with UDP's acks, and the `#ping`
/// probe.
#[test]
fn agents_connect_over_udp() {
    let mut added = Vec::new();
    let server = serve_prepared("Agent connection service listening on UDP", |home, port, config| {
        added = [("udp01", Cipher::Blowfish)].iter().map(|(name, cipher)| add_agent(home, name, *cipher)).collect();
        let remote =
            format!("<remote><connection>secure</connection><port>{port}</port><protocol>udp</protocol></remote>");
        replace_block(&config, "remote", &remote).replace("<disabled>no</disabled>", "<disabled>yes</disabled>")
    });
    let home = server.home().to_owned();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let server_addr: std::net::SocketAddr = ([127, 0, 0, 1], server.port).into();
    socket.send_to(b"#ping", server_addr).expect("ping");
    let mut pong = [0u8; 16];
    assert_eq!(socket.recv(&mut pong).ok().map(|n| &pong[..n]), Some(&b"#pong"[..]));
    let mut agent = Datagrams { socket, server: server_addr, agent: &added[0], counters: Counters::default() };

    agent.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(agent.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    agent.send(KEEPALIVE.as_bytes());
    assert_eq!(agent.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    let header = String::from_utf8(agent.receive().expect("push")).expect("text");
    assert!(header.starts_with("#!-up file "), "{header}");
    while agent.receive().as_deref() != Some(&b"#!-close file "[..]) {}
    wait_for("active", Duration::from_secs(5), || agent_json(&home, &added[0].id)["status"] == "active");

    agent.send(
        b"1:/var/log/auth.log:Nov 27 12:00:00 udp01 sshd[99]: Failed password for root from 198.51.100.7 port 4 ssh2",
    );
    wait_for("the UDP agent's alert", Duration::from_secs(10), || {
        alerts(&home).iter().any(|a| a["agent"]["name"] == "udp01" && a["location"] == "/var/log/auth.log")
    });

    // A request over UDP: the agent acks it, answers, and the manager acks the answer.
    let socket_path = home.join("queue/sockets/remote");
    let command = format!("{} agent getconfig client", added[0].id);
    let requester = std::thread::spawn(move || local_request(&socket_path, command.as_bytes()));
    let request = String::from_utf8(agent.receive().expect("request")).expect("text");
    let counter = request.strip_prefix("#!-req ").and_then(|r| r.split(' ').next()).expect("counter").to_owned();
    agent.send(format!("#!-req {counter} ack").as_bytes());
    agent.send(format!("#!-req {counter} ok {{}}").as_bytes());
    assert_eq!(requester.join().expect("requester"), b"ok {}");
    assert_eq!(agent.receive(), Some(format!("#!-req {counter} ack").into_bytes()), "the answer is acked");
}

/// An agent flooding the only core does not starve another: the other's keepalives are still
/// acked promptly while the flood goes on. On the poll driver a read whose data is there
/// completes without yielding, so without the core's explicit turn-taking the calm agent would
/// not be served at all until the flood ends.
#[test]
fn a_flooding_agent_leaves_others_their_share() {
    let mut added = Vec::new();
    let server = serve_prepared("Agent connection service listening", |home, port, config| {
        added = [("flood01", Cipher::Aes), ("calm01", Cipher::Aes)]
            .iter()
            .map(|(name, cipher)| add_agent(home, name, *cipher))
            .collect();
        let remote = format!(
            "<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol>\
             <workers>1</workers><io_driver>poll</io_driver></remote>"
        );
        replace_block(&config, "remote", &remote).replace("<disabled>no</disabled>", "<disabled>yes</disabled>")
    });
    let (flooder, calm) = (added[0].clone(), &added[1]);
    let port = server.port;
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let still = std::sync::Arc::clone(&flooding);
    let flood = std::thread::spawn(move || {
        let mut connection = Connection::open(port, &flooder);
        connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
        let mut counters = Counters::default();
        let burst: Vec<u8> = (0..200)
            .flat_map(|i| {
                let line = format!("1:/var/log/app.log:flood line {i} with some text to decode");
                secmsg::seal_frame(
                    &flooder.keys,
                    flooder.cipher,
                    counters.advance(),
                    1,
                    line.as_bytes(),
                    Some(&flooder.id),
                )
                .expect("seal")
            })
            .collect();
        let mut sent = 0u64;
        while still.load(std::sync::atomic::Ordering::Relaxed) {
            if connection.stream.write_all(&burst).is_err() {
                break;
            }
            sent += 200;
        }
        sent
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut connection = Connection::open(port, calm);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        connection.send(b"#!-Linux |calm01 |6.1 |#1 |x86_64 - Wazuh v4.14.7\nx merged.mg\n");
        assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
        slowest = slowest.max(started.elapsed());
        // Drain a file push, if any, before the next keepalive.
        connection.stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        while connection.receive().is_some() {}
        connection.stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    }
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let sent = flood.join().expect("flooder");
    assert!(sent >= 400, "the flood went on ({sent} events)");
    // Generous for a debug build on two shared cores: what matters is that the ack does not
    // wait for the flood to end.
    assert!(slowest < Duration::from_secs(3), "slowest ack {slowest:?} during a flood of {sent} events");
}

/// The whole path of a new agent: it enrolls over TLS (in two groups), connects at once with
/// the key it got, and is pushed its multigroup's merged.mg.
#[test]
fn an_agent_enrolled_over_tls_connects_at_once() {
    let auth_port = common::server::free_port();
    let server = serve_prepared("Enrollment service listening", |home, port, config| {
        let web = home.join("etc/shared/web");
        std::fs::create_dir_all(&web).expect("group folder");
        std::fs::write(web.join("agent.conf"), "<agent_config>web</agent_config>\n").expect("agent.conf");
        let remote =
            format!("<remote><connection>secure</connection><port>{port}</port><protocol>tcp</protocol></remote>");
        replace_block(&config, "remote", &remote).replace("<port>1515</port>", &format!("<port>{auth_port}</port>"))
    });
    let home = server.home().to_owned();
    let enrolled = common::vigil()
        .args(["enroll", "-m", "127.0.0.1", "-p", &auth_port.to_string(), "-A", "fresh01", "-G", "default,web"])
        .output()
        .expect("vigil enroll");
    assert!(enrolled.status.success(), "{}", String::from_utf8_lossy(&enrolled.stderr));
    let line = String::from_utf8(enrolled.stdout).expect("text");
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [id, name, _ip, key] = fields[..] else { panic!("a client.keys line: {line}") };
    let agent =
        Agent { id: id.to_owned(), name: name.to_owned(), keys: AgentKeys::derive(id, name, key), cipher: Cipher::Aes };

    // No wait: the key is accepted on the first message.
    let mut connection = Connection::open(server.port, &agent);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    connection.send(KEEPALIVE.as_bytes());
    assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    let hash = vigil::remote::shared::multigroup_hash(&["default", "web"]);
    let merged = std::fs::read(home.join("var/multigroups").join(&hash).join("merged.mg")).expect("multigroup file");
    assert!(merged.starts_with(format!("#{hash}\n").as_bytes()));
    let text = String::from_utf8_lossy(&merged);
    assert!(text.contains("<!-- Source file: web/agent.conf -->\n<agent_config>web</agent_config>"), "{text}");
    receive_file(&mut connection, &merged);
}

#[test]
fn agent_modules_are_answered_over_the_connection_and_alert() {
    let (server, agents) = serve("auto", &[("fim01", Cipher::Aes)]);
    let home = server.home().to_owned();
    let mut connection = Connection::open(server.port, &agents[0]);
    connection.send(br#"#!-agent startup {"version":"v4.14.7"}"#);
    assert_eq!(connection.receive().as_deref(), Some(&b"#!-agent ack "[..]));
    // Nothing is stored for this range yet: the agent is told to send its rows.
    connection.send(br#"5:fim_file:{"component":"fim_file","type":"integrity_check_global","data":{"id":7,"begin":"/a","end":"/z","checksum":"abc"}}"#);
    let answer = connection.receive().expect("an answer to the integrity check");
    assert_eq!(String::from_utf8_lossy(&answer), r#"#!-fim_file dbsync no_data {"id":7,"begin":"/a","end":"/z"}"#);
    connection.send(br#"8:syscheck:{"type":"event","data":{"path":"/etc/hosts","mode":"realtime","type":"added","timestamp":1,"attributes":{"type":"file","size":3,"checksum":"c1"}}}"#);
    wait_for("the FIM alert", Duration::from_secs(10), || {
        alerts(&home).iter().any(|a| a["rule"]["id"] == "801201" && a["syscheck"]["path"] == "/etc/hosts")
    });
}
