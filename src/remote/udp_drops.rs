//! Datagrams the kernel dropped before a core read them (a full receive buffer): the `drops`
//! column of `/proc/net/udp` and `/proc/net/udp6` for the service's own sockets, found by inode.

use std::os::fd::AsFd;
use std::sync::Mutex;

/// The service's UDP sockets, by inode, with what they carry.
#[derive(Debug, Default)]
pub struct UdpSockets(Mutex<Vec<(u64, &'static str)>>);

impl UdpSockets {
    /// Remembers `socket`, carrying `kind` (`agents` or `syslog`).
    pub fn add(&self, socket: impl AsFd, kind: &'static str) {
        if let Ok(stat) = rustix::fs::fstat(socket) {
            crate::sync::lock(&self.0).push((stat.st_ino, kind));
        }
    }

    /// Drops so far for each kind that has sockets.
    pub fn drops(&self) -> Vec<(&'static str, u64)> {
        let sockets = crate::sync::lock(&self.0).clone();
        let mut table = String::new();
        for file in ["/proc/net/udp", "/proc/net/udp6"] {
            table.push_str(&std::fs::read_to_string(file).unwrap_or_default());
        }
        let mut totals: Vec<(&'static str, u64)> = Vec::new();
        for (inode, kind) in sockets {
            let dropped = drops_of(&table, inode).unwrap_or(0);
            match totals.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, total)) => *total += dropped,
                None => totals.push((kind, dropped)),
            }
        }
        totals
    }
}

/// The `drops` column of the row for `inode` in a `/proc/net/udp` table.
pub fn drops_of(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip_while(|l| l.trim_start().starts_with("sl")).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local rem st queues tr retrnsmt uid timeout inode ref pointer drops
        (fields.get(9)?.parse::<u64>().ok()? == inode).then(|| fields.last()?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drops_column_of_a_socket_is_found_by_inode() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
             1: 00000000:05EA 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n\
             2: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 0\n";
        assert_eq!(drops_of(table, 4242), Some(17));
        assert_eq!(drops_of(table, 4243), Some(0));
        assert_eq!(drops_of(table, 1), None);
        // A real socket of this process is in the kernel's table.
        let sockets = UdpSockets::default();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
        sockets.add(&socket, "agents");
        assert_eq!(sockets.drops(), [("agents", 0)]);
    }
}
