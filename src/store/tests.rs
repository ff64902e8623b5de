use super::*;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = Store::open(&dir.path().join("db")).unwrap_or_else(|e| panic!("open: {e}"));
    (dir, store)
}

fn new(name: &str, ip: &str) -> NewAgent {
    NewAgent { name: p(name), ip: p(ip), groups: Vec::new(), registered_at: 100 }
}

fn p<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Display,
{
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn entries(text: &str) -> Vec<KeyEntry> {
    keys::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn ids(agents: &[Agent]) -> Vec<String> {
    agents.iter().map(|a| a.id.to_string()).collect()
}

#[test]
fn add_allocates_ids_and_indexes() -> Result<()> {
    let (_d, s) = store();
    let a = s.add_agent(new("web01", "any"))?;
    let b = s.add_agent(new("db01", "10.0.0.7"))?;
    assert_eq!((a.id.to_string(), b.id.to_string()), ("001".into(), "002".into()));
    assert_eq!(a.key.expose().len(), 64);
    assert_eq!(s.agent_by_name("db01")?.map(|a| a.id), Some(b.id));
    assert_eq!(s.agent_by_name("DB01")?, None, "names are case-sensitive");
    assert_eq!(ids(&s.agents_by_ip("10.0.0.7")?), ["002"]);
    assert_eq!(ids(&s.agents_with_status(Status::NeverConnected)?), ["001", "002"]);
    assert_eq!(ids(&s.agents_with_status(Status::Active)?), Vec::<String>::new());
    Ok(())
}

#[test]
fn duplicates_are_refused_and_leave_the_store_unchanged() -> Result<()> {
    let (_d, s) = store();
    s.add_agent(new("web01", "10.0.0.1"))?;
    assert!(matches!(s.add_agent(new("web01", "any")), Err(StoreError::DuplicateName(_))));
    assert!(matches!(s.add_agent(new("web02", "10.0.0.1")), Err(StoreError::DuplicateIp(_))));
    s.add_agent(new("web03", "any"))?;
    s.add_agent(new("web04", "any"))?;
    assert_eq!(ids(&s.agents()?), ["001", "002", "003"]);
    Ok(())
}

#[test]
fn removed_ids_are_never_reused_unless_purged() -> Result<()> {
    let (_d, s) = store();
    s.add_agent(new("a1", "any"))?;
    let b = s.add_agent(new("b1", "any"))?;
    s.remove_agent(b.id, false)?;
    assert_eq!(s.agent_by_name("b1")?, None);
    let c = s.add_agent(new("b1", "any"))?;
    assert_eq!(c.id.to_string(), "003", "the removed 002 still counts");
    let exported = s.export_keys()?;
    assert!(exported.contains(&format!("002 !b1 any {}\n", b.key.expose())), "{exported}");
    s.remove_agent(c.id, true)?;
    assert!(matches!(s.remove_agent(b.id, false), Err(StoreError::NoSuchAgent(_))));
    assert!(!s.export_keys()?.contains("003 "));
    Ok(())
}

#[test]
fn import_is_all_or_nothing() -> Result<()> {
    let (_d, s) = store();
    let good = entries("001 a1 any k1\n002 !gone any k2\n");
    assert_eq!(s.import_keys(&good, 5)?, 2);
    let clash = entries("010 x1 any k\n011 a1 any k\n");
    assert!(matches!(s.import_keys(&clash, 5), Err(StoreError::DuplicateName(_))));
    assert_eq!(s.agent(p("010"))?, None, "010 was rolled back");
    let clash = entries("002 y1 any k\n");
    assert!(matches!(s.import_keys(&clash, 5), Err(StoreError::DuplicateId(_))));
    assert_eq!(s.add_agent(new("z1", "any"))?.id.to_string(), "003");
    Ok(())
}

#[test]
fn export_keeps_file_order_and_bytes() -> Result<()> {
    let (_d, s) = store();
    let text = "005 e5 any k5\n002 b2 10.0.0.0/24 k2\n009 !old any k9\n003 c3 ::1 k3\n";
    s.import_keys(&entries(text), 1)?;
    assert_eq!(s.export_keys()?, text);
    Ok(())
}

#[test]
fn update_moves_indexes_and_checks_names() -> Result<()> {
    let (_d, s) = store();
    let a = s.add_agent(new("a1", "any"))?;
    s.add_agent(new("b1", "any"))?;
    let group: GroupName = p("linux");
    assert!(s.add_group(&group, 1)?);
    assert!(!s.add_group(&group, 2)?);
    s.write(|w| {
        w.update(a.id, |ag| {
            ag.status = Status::Active;
            ag.groups = vec![group.clone()];
        })
    })?;
    assert_eq!(ids(&s.agents_with_status(Status::Active)?), ["001"]);
    assert_eq!(ids(&s.agents_with_status(Status::NeverConnected)?), ["002"]);
    assert_eq!(ids(&s.agents_in_group(&group)?), ["001"]);
    let renamed = s.write(|w| w.update(a.id, |ag| ag.name = p("b1")));
    assert!(matches!(renamed, Err(StoreError::DuplicateName(_))));
    assert_eq!(s.agent(a.id)?.map(|a| a.name.to_string()), Some("a1".into()));
    Ok(())
}

#[test]
fn unknown_group_is_refused() {
    let (_d, s) = store();
    let mut n = new("a1", "any");
    n.groups = vec![p("nope")];
    assert!(matches!(s.add_agent(n), Err(StoreError::NoSuchGroup(_))));
}

#[test]
fn reopen_sees_committed_data() -> Result<()> {
    let (dir, s) = store();
    s.add_agent(new("a1", "any"))?;
    drop(s);
    let again = Store::open(&dir.path().join("db"))?;
    assert_eq!(ids(&again.agents()?), ["001"]);
    Ok(())
}

#[test]
fn status_counts_follow_every_change() {
    let dir = tempfile::tempdir().expect("test value");
    let store = Store::open(dir.path()).expect("test value");
    let add = |name: &str| {
        store
            .add_agent(NewAgent {
                name: name.parse().expect("test value"),
                ip: AgentIp::any(),
                groups: vec![],
                registered_at: 0,
            })
            .expect("test value")
    };
    let (a, b) = (add("count-a"), add("count-b"));
    assert_eq!(store.status_counts().expect("test value"), ([2, 0, 0, 0], 0));
    store
        .write(|w| {
            w.update(a.id, |x| {
                x.status = Status::Active;
                x.config_synced = true;
            })
        })
        .expect("test value");
    assert_eq!(store.status_counts().expect("test value"), ([1, 0, 1, 0], 1));
    store.write(|w| w.update(a.id, |x| x.last_keepalive = Some(5))).expect("test value");
    assert_eq!(store.status_counts().expect("test value"), ([1, 0, 1, 0], 1), "unchanged by other fields");
    store.remove_agent(a.id, true).expect("test value");
    store.remove_agent(b.id, false).expect("test value");
    assert_eq!(store.status_counts().expect("test value"), ([0, 0, 0, 0], 0));
    drop(store);
    // A store reopened keeps its counts; one without them is counted at open.
    let store = Store::open(dir.path()).expect("test value");
    assert_eq!(store.status_counts().expect("test value"), ([0, 0, 0, 0], 0));
}
