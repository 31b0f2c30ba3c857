//! The real `smartid-server` binary under a bounded mixed load (enroll / authenticate / unenroll from
//! parallel clients on loopback), then killed with SIGKILL in the middle of the load and restarted:
//! every acknowledged change must be in the database afterwards and nothing else. Prints throughput
//! and latency percentiles (docs/server.md), asserts only correctness.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::RngExt as _;
use serde_json::json;
use smartid_server::channels::ChannelPolicy;

const WORKERS: usize = 8;
const USERS_PER_WORKER: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Present,
    Absent,
    /// A request was in flight when the server died: either outcome is correct.
    Unknown,
}

struct Binary {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_server(setup: &Setup, files: &Path) -> Binary {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_smartid-server"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(&setup.database)
        .arg("--data-keys")
        .arg(files.join("data.keys"))
        .arg("--server-keys")
        .arg(files.join("server.sk"))
        .arg("--channels")
        .arg(files.join("channels.toml"))
        .arg("--models")
        .arg(&setup.models)
        .env("SMARTID_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("smartid-server runs");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(resp) = agent().get(format!("{url}/health")).call()
            && resp.status().as_u16() == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Binary { child, url }
}

fn write_files(setup: &Setup) -> std::path::PathBuf {
    let files = setup.dir.0.join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("server.sk"),
        setup.server_key.private_text().as_bytes(),
    )
    .unwrap();
    std::fs::write(files.join("data.keys"), &setup.data_keys_text).unwrap();
    std::fs::write(
        files.join("channels.toml"),
        setup.channels.to_toml().unwrap(),
    )
    .unwrap();
    files
}

struct Stats {
    latencies: HashMap<&'static str, Vec<f64>>,
}

/// Runs the mixed load until `stop` or `ops_per_worker`; returns per-op latencies. Every answer is
/// checked against what the client knows (an enrolled user authenticates, an absent one is 406…).
fn run_load(
    client: &Client,
    pk: &smartid_core::seal::PublicKey,
    known: &Arc<Mutex<HashMap<String, Known>>>,
    ops_per_worker: usize,
    stop: &Arc<AtomicBool>,
) -> Stats {
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (client, pk, known, stop) = (client.clone(), pk.clone(), known.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = rand::rng();
                let mut lat: HashMap<&'static str, Vec<f64>> = HashMap::new();
                for _ in 0..ops_per_worker {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let k = rng.random_range(0..USERS_PER_WORKER);
                    let user = format!("w{w}-u{k}");
                    let seed = (w * 100 + k) as f32;
                    let state = known.lock().unwrap().get(&user).copied().unwrap_or(Known::Absent);
                    let roll = rng.random_range(0..10);
                    let (op, cap) = match roll {
                        0..=4 => ("enroll", Some(capture(&pk, &synthetic(seed)))),
                        5..=7 => ("authenticate", Some(capture(&pk, &synthetic(seed)))),
                        _ => ("unenroll", None),
                    };
                    let t0 = Instant::now();
                    let result = match (op, &cap) {
                        ("enroll", Some(c)) => client.try_post(
                            "/api/kyc/enroll",
                            &json!({"User": user, "Template": c.template, "PayLoad": c.payload, "OverWrite": "true"}),
                        ),
                        ("authenticate", Some(c)) => client.try_post(
                            "/api/kyc/authenticate",
                            &json!({"User": user, "Template": c.template, "PayLoad": c.payload}),
                        ),
                        _ => client.try_post("/api/kyc/unenroll", &json!({"User": user})),
                    };
                    let Ok(answer) = result else {
                        // The connection failed: the server is gone. The outcome is unknown.
                        known.lock().unwrap().insert(user, Known::Unknown);
                        break;
                    };
                    lat.entry(op).or_default().push(t0.elapsed().as_secs_f64() * 1e3);
                    let code = answer.code();
                    let next = match (op, state, code) {
                        ("enroll", _, 200) => Known::Present,
                        ("unenroll", Known::Present, 200) => Known::Absent,
                        ("unenroll", Known::Absent, 406 | 410) => Known::Absent,
                        ("authenticate", Known::Present, 200) => {
                            assert_eq!(answer.body["Authenticated"], json!(true));
                            Known::Present
                        }
                        ("authenticate", Known::Absent, 406 | 410) => Known::Absent,
                        (_, Known::Unknown, _) => Known::Unknown,
                        _ => panic!("{op} of {user} ({state:?}) answered {code}: {:?}", answer.body),
                    };
                    known.lock().unwrap().insert(user, next);
                }
                lat
            })
        })
        .collect();
    let mut latencies: HashMap<&'static str, Vec<f64>> = HashMap::new();
    for h in handles {
        for (op, mut v) in h.join().unwrap() {
            latencies.entry(op).or_default().append(&mut v);
        }
    }
    Stats { latencies }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn db_users(setup: &Setup, channel: &str) -> Vec<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = smartid_server::db::Store::open(&setup.database, 1)
                .await
                .unwrap();
            let u = store.enrolled_users(channel).await.unwrap();
            store.close().await;
            u
        })
}

fn check_database(setup: &Setup, channel: &str, known: &HashMap<String, Known>) -> (usize, usize) {
    let in_db: Vec<String> = db_users(setup, channel);
    for u in &in_db {
        match known.get(u) {
            Some(Known::Present | Known::Unknown) => {}
            other => panic!("{u} is in the database but was {other:?}"),
        }
    }
    let mut present = 0;
    for (u, k) in known {
        if *k == Known::Present {
            assert!(in_db.contains(u), "acknowledged enrollment of {u} lost");
            present += 1;
        }
        if *k == Known::Absent {
            assert!(
                !in_db.contains(u),
                "acknowledged unenroll of {u} not applied"
            );
        }
    }
    (present, in_db.len())
}

#[test]
fn mixed_load_then_sigkill_loses_no_acknowledged_change() {
    let policy = ChannelPolicy {
        rate_per_sec: 100_000.0,
        burst: 100_000.0,
        ..policy()
    };
    let setup = Setup::new(&[policy]);
    let files = write_files(&setup);
    let pk = setup.public();
    let channel = setup.api_keys[0].0.clone();
    let key = setup.api_keys[0].1.clone();
    let known = Arc::new(Mutex::new(HashMap::new()));

    // 1. A bounded load to completion: throughput and latency.
    let mut server = spawn_server(&setup, &files);
    let client = Client {
        url: server.url.clone(),
        api_key: key.clone(),
        channel: channel.clone(),
    };
    let ops = 150;
    let t0 = Instant::now();
    let stats = run_load(&client, &pk, &known, ops, &Arc::new(AtomicBool::new(false)));
    let wall = t0.elapsed().as_secs_f64();
    let backend = if postgres_url().is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let total: usize = stats.latencies.values().map(Vec::len).sum();
    println!(
        "\nmixed load on {backend}: {WORKERS} clients, {total} requests in {wall:.2} s = {:.0} req/s",
        total as f64 / wall
    );
    println!("| backend | operation | requests | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    let mut ops_sorted: Vec<_> = stats.latencies.into_iter().collect();
    ops_sorted.sort_by_key(|(op, _)| *op);
    for (op, mut v) in ops_sorted {
        v.sort_by(f64::total_cmp);
        println!(
            "| {backend} | {op} | {} | {:.1} | {:.1} |",
            v.len(),
            percentile(&v, 0.5),
            percentile(&v, 0.99)
        );
    }
    let (present, _) = check_database(&setup, &channel, &known.lock().unwrap());
    assert!(present > 0);

    // 2. The same load, and SIGKILL while it runs.
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        let pid = server.child.id();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            assert!(status.unwrap().success());
            std::thread::sleep(Duration::from_millis(200));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let stats = run_load(&client, &pk, &known, 10_000, &stop);
    killer.join().unwrap();
    let _ = server.child.wait();
    let during: usize = stats.latencies.values().map(Vec::len).sum();
    let unknown = known
        .lock()
        .unwrap()
        .values()
        .filter(|k| **k == Known::Unknown)
        .count();
    println!("killed with SIGKILL after {during} more requests; {unknown} request(s) in flight");
    assert!(during > 0, "the kill came before any request");

    // 3. Restarted on the same database: it starts (every stored template decrypts into the index),
    // every acknowledged change is there and nothing else, and the enrolled users authenticate.
    server = spawn_server(&setup, &files);
    let client = Client {
        url: server.url.clone(),
        api_key: key,
        channel: channel.clone(),
    };
    let known = known.lock().unwrap().clone();
    let (present, in_db) = check_database(&setup, &channel, &known);
    println!(
        "after restart: {present} acknowledged enrollments present, {in_db} users in the database"
    );
    for (u, k) in &known {
        if *k == Known::Present {
            let seed: Vec<usize> = u[1..].split("-u").map(|n| n.parse().unwrap()).collect();
            let t = synthetic((seed[0] * 100 + seed[1]) as f32);
            let a = client.authenticate(u, &capture(&pk, &t));
            assert_eq!(
                a.body["Authenticated"],
                serde_json::json!(true),
                "{u}: {:?}",
                a.body
            );
        }
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
}
