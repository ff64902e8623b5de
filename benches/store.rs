//! Agent store lookups stay flat as the fleet grows (indexed seeks, not scans), and client.keys
//! parsing speed. Run with `cargo bench --bench store`.

use divan::Bencher;
use vigil::store::{Store, keys};

fn main() {
    divan::main();
}

const SIZES: &[u32] = &[1_000, 100_000];

fn keys_file(n: u32) -> String {
    (1..=n).map(|i| format!("{i:03} agent-{i} 10.{}.{}.{} {:064x}\n", i >> 16, (i >> 8) & 255, i & 255, i)).collect()
}

fn store_with(n: u32) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open store");
    let entries = keys::parse(&keys_file(n)).expect("generated file parses");
    store.import_keys(&entries, 0).expect("import");
    (dir, store)
}

#[divan::bench(args = SIZES)]
fn by_name(bencher: Bencher, n: u32) {
    let (_dir, store) = store_with(n);
    let name = format!("agent-{}", n / 2);
    bencher.bench_local(|| store.agent_by_name(divan::black_box(&name)).expect("lookup"));
}

#[divan::bench(args = SIZES)]
fn by_id(bencher: Bencher, n: u32) {
    let (_dir, store) = store_with(n);
    let id = format!("{:03}", n / 2).parse().expect("id");
    bencher.bench_local(|| store.agent(divan::black_box(id)).expect("lookup"));
}

#[divan::bench(args = SIZES)]
fn by_ip(bencher: Bencher, n: u32) {
    let (_dir, store) = store_with(n);
    let i = n / 2;
    let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
    bencher.bench_local(|| store.agents_by_ip(divan::black_box(&ip)).expect("lookup"));
}

#[divan::bench]
fn parse_client_keys_10k(bencher: Bencher) {
    let text = keys_file(10_000);
    bencher.counter(divan::counter::ItemsCount::new(10_000u32)).bench_local(|| keys::parse(divan::black_box(&text)));
}
