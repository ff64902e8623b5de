//! A full disk under the alert log, for real: `logs/alerts` on a 1 MiB tmpfs. vigil reports
//! it, stops taking events (the local queue's sender blocks), and once there is room again
//! writes every event exactly once. Needs root for the mount: run by `.ci/heavy`
//! (`cargo test --test disk_full -- --ignored`).

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use common::server::{log, start, wait_for};
use common::{ok, scratch};

/// Unmounts the tmpfs however the test ends.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root to mount a tmpfs; run by .ci/heavy"]
fn a_full_disk_holds_events_back_and_loses_none() {
    let s = scratch();
    ok(&s.home, &["agents", "list"]);
    let conf = s.home.join("etc/ossec.conf");
    let text = std::fs::read_to_string(&conf).expect("ossec.conf");
    let text = text
        .replace("<port>55000</port>", &format!("<port>{}</port>", common::server::free_port()))
        .replace("<alerts_log>yes</alerts_log>", "<alerts_log>no</alerts_log>");
    std::fs::write(&conf, text).expect("write");
    let alerts = s.home.join("logs/alerts");
    std::fs::create_dir_all(&alerts).expect("mkdir");
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"]).arg(&alerts).status();
    assert!(mounted.is_ok_and(|s| s.success()), "mount -t tmpfs needs root");
    let _mount = Mount(alerts.clone());

    let mut server = start(&s.home);
    wait_for("start-up", Duration::from_secs(30), || log(&s.home).contains("INFO: Started"));
    let queue = s.home.join("queue/sockets/queue");
    let total = 3_000usize;
    // About 1 KiB per alert: 3,000 do not fit in 1 MiB.
    let sender = std::thread::spawn(move || {
        let socket = UnixDatagram::unbound().expect("socket");
        for i in 0..total {
            let line = format!(
                "1:/var/log/auth.log:Nov 27 12:00:00 web01 sshd[{i}]: Failed password for root from 198.51.100.{} port {} ssh2",
                i % 250,
                40000 + i
            );
            socket.send_to(line.as_bytes(), &queue).expect("send");
        }
    });
    wait_for("the full disk reported", Duration::from_secs(60), || log(&s.home).contains("No space left on device"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!sender.is_finished(), "events are held back while the log cannot be written");

    let grown = Command::new("mount").args(["-o", "remount,size=64m"]).arg(&alerts).status();
    assert!(grown.is_ok_and(|s| s.success()));
    sender.join().expect("sender");
    let lines = || std::fs::read_to_string(alerts.join("alerts.json")).unwrap_or_default();
    wait_for("every alert written", Duration::from_secs(60), || lines().lines().count() >= total);
    std::thread::sleep(Duration::from_millis(500));
    let text = lines();
    let mut ids: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("whole JSON lines, none torn"))
        .map(|a| a["full_log"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), total, "each event once");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no event twice");
    assert!(log(&s.home).contains("the alert log is written again"));
    let _ = server.kill();
    let _ = server.wait();
}
