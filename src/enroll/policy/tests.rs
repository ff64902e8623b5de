use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::enroll::request::{Expect, parse};
use crate::store::{AgentId, Store};

const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
const HOUR: i64 = 3600;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    policy: Policy,
}

fn fixture(force: Force) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("etc/shared/default")).expect("default group");
    std::fs::create_dir_all(dir.path().join("etc/shared/web")).expect("web group");
    let store = Store::open(&dir.path().join("db")).expect("store");
    store.add_group(&GroupName::default_group(), 0).expect("group");
    let auth = Auth { force, ..Auth::default() };
    let policy = Policy::new(&auth, dir.path(), "manager-host".to_owned());
    Fixture { _dir: dir, store, policy }
}

impl Fixture {
    fn enroll(&self, line: &str, now: i64) -> Result<Enrolled, EnrollError> {
        let request = parse(line.as_bytes(), &Expect::default())?;
        self.store.write(|w| self.policy.admit(w, &request, SOURCE, now)).expect("store")
    }

    fn set(&self, id: AgentId, f: impl FnOnce(&mut Agent)) {
        self.store.write(|w| w.update(id, f)).expect("update");
    }
}

#[test]
fn new_agents_get_increasing_ids_and_the_default_group() {
    let f = fixture(Force::default());
    let first = f.enroll("OSSEC A:'web01'", 0).map(|e| e.agent);
    let second = f.enroll("OSSEC A:'web02' G:'web'", 0).map(|e| e.agent);
    assert_eq!(first.as_ref().map(|a| (a.id.to_string(), a.ip.to_string())), Ok(("001".into(), "any".into())));
    assert_eq!(first.map(|a| a.groups), Ok(vec![GroupName::default_group()]));
    assert_eq!(second.map(|a| (a.id.to_string(), a.groups)), Ok(("002".into(), vec!["web".parse().expect("name")])));
}

#[test]
fn groups_need_their_directory() {
    let f = fixture(Force::default());
    assert_eq!(f.enroll("OSSEC A:'web01' G:'web,nope'", 0).err(), Some(EnrollError::InvalidGroup("nope".into())));
    assert_eq!(f.store.agents().map(|a| a.len()).ok(), Some(0), "nothing is added");
}

#[test]
fn addresses_follow_the_ip_part_and_use_source_ip() {
    let mut f = fixture(Force::default());
    let ip = |e: Result<Enrolled, EnrollError>| e.map(|e| e.agent.ip.to_string());
    assert_eq!(ip(f.enroll("OSSEC A:'a1' IP:'src'", 0)), Ok("192.0.2.7".into()));
    assert_eq!(ip(f.enroll("OSSEC A:'a2' IP:'10.0.0.0/24'", 0)), Ok("10.0.0.0/24".into()));
    assert_eq!(ip(f.enroll("OSSEC A:'a3' IP:'192.0.2.7'", 0)), Err(EnrollError::DuplicateIp("192.0.2.7".into())));
    f.policy.use_source_ip = true;
    assert_eq!(ip(f.enroll("OSSEC A:'a4'", 0)), Err(EnrollError::DuplicateIp("192.0.2.7".into())));
}

#[test]
fn the_manager_name_is_taken() {
    let f = fixture(Force::default());
    assert_eq!(f.enroll("OSSEC A:'manager-host'", 0).err(), Some(EnrollError::InvalidName("manager-host".into())));
}

#[test]
fn duplicates_are_replaced_only_as_force_allows() {
    let f = fixture(Force::default());
    let old = f.enroll("OSSEC A:'web01'", 0).map(|e| e.agent).expect("enrolled");
    let dup = Err(EnrollError::DuplicateName("web01".into()));
    // Registered less than after_registration_time ago.
    assert_eq!(f.enroll("OSSEC A:'web01'", HOUR - 1).map(|e| e.agent.id), dup.clone());
    // Never connected and old enough: replaced, with a new id.
    let new = f.enroll("OSSEC A:'web01'", HOUR).expect("replaced");
    assert_eq!((new.agent.id.to_string(), new.replaced.len()), ("002".into(), 1));
    assert_eq!(f.store.agent(old.id).ok().flatten(), None);
    // Active: not disconnected, so kept.
    f.set(new.agent.id, |a| a.status = Status::Active);
    assert_eq!(f.enroll("OSSEC A:'web01'", 10 * HOUR).map(|e| e.agent.id), dup.clone());
    // Disconnected for less than disconnected_time, then long enough.
    f.set(new.agent.id, |a| {
        a.status = Status::Disconnected;
        a.disconnected_at = Some(10 * HOUR - 60);
    });
    assert_eq!(f.enroll("OSSEC A:'web01'", 10 * HOUR).map(|e| e.agent.id), dup.clone());
    // The same key hash means the agent already holds this key.
    let hash = key_hash(new.agent.id, &new.agent.name, &new.agent.key);
    assert_eq!(f.enroll(&format!("OSSEC A:'web01' K:'{hash}'"), 12 * HOUR).map(|e| e.agent.id), dup);
    let third = f.enroll("OSSEC A:'web01' K:'0000'", 12 * HOUR).map(|e| e.agent.id.to_string());
    assert_eq!(third, Ok("003".into()));
}

#[test]
fn force_disabled_never_replaces() {
    let f = fixture(Force { enabled: false, ..Force::default() });
    assert!(f.enroll("OSSEC A:'web01' IP:'10.1.1.1'", 0).is_ok());
    let later = 100 * HOUR;
    assert_eq!(
        f.enroll("OSSEC A:'web02' IP:'10.1.1.1'", later).err(),
        Some(EnrollError::DuplicateIp("10.1.1.1".into()))
    );
    assert_eq!(f.enroll("OSSEC A:'web01'", later).err(), Some(EnrollError::DuplicateName("web01".into())));
}

#[test]
fn purged_ids_are_not_reused() {
    let mut f = fixture(Force { after_registration_time: Duration::ZERO, ..Force::default() });
    f.policy.purge = true;
    assert!(f.enroll("OSSEC A:'web01'", 0).is_ok());
    let replaced = f.enroll("OSSEC A:'web01'", 1).map(|e| e.agent.id.to_string());
    assert_eq!(replaced, Ok("002".into()));
    assert_eq!(f.store.export_keys().map(|k| k.lines().count()).ok(), Some(1), "purged: no '!' line");
}
