//! The Kerberized cluster `s` of `scripts/secure` (Hadoop 3, a realm of its
//! own on 127.0.0.1, privacy RPC, encrypted data transfer, HTTPS only):
//! hsync authenticates with a keytab or a ticket cache, and every refusal
//! names the cluster and the cause and writes nothing. Checked through
//! FsShell as the cluster's superuser.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cluster::{cluster, unique_root, Cluster};
use crate::util::{noise, says, wait_bounded, Dir, Output, TestCommand};

fn realm() -> String {
    std::env::var("HSYNC_TEST_SECURE_REALM").expect(
        "HSYNC_TEST_SECURE_REALM is not set: these tests need the secure bed \
         (scripts/secure start && eval \"$(scripts/secure env)\")",
    )
}

fn keytab(user: &str) -> String {
    let folder = std::env::var("HSYNC_TEST_SECURE_KEYTABS").expect("the secure bed's keytabs");
    format!("{folder}/{user}.keytab")
}

/// `cluster` with Kerberos credentials given as manifest lines.
fn with(credentials: &[(&str, &str)]) -> String {
    credentials
        .iter()
        .map(|(key, value)| format!("{key} = {value:?}\n"))
        .collect()
}

/// A job of 20 files in `dir`'s `src` into `ROOT/dst` on s; `table` is the
/// cluster's manifest table.
fn secure_job(dir: &Dir, root: &str, table: &str) -> Cluster {
    let s = cluster("s");
    for i in 0..20 {
        dir.create(
            &format!("src/d{}/f{i}", i % 3),
            noise(1000 + i * 7000, i as u64),
        );
    }
    dir.manifest(&format!(
        "{table}\n[[job]]\nname = \"secure\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n",
        dir.join("src").display().to_string(),
        s.alias(&format!("{root}/dst")),
    ));
    s
}

/// s's table with `principal`'s credentials from `owner`'s keytab.
fn keytab_table(s: &Cluster, principal: &str, owner: &str) -> String {
    format!(
        "{}{}",
        s.manifest_table(None),
        with(&[
            ("kerberos_principal", &format!("{principal}@{}", realm())),
            ("kerberos_keytab", &keytab(owner)),
        ])
    )
}

#[test]
fn hadoop3_a_keytab_plans_and_applies_over_privacy_rpc_and_encrypted_transfer() {
    let root = unique_root("secure-keytab");
    let dir = Dir::new();
    let s = cluster("s");
    let s = secure_job(&dir, &root, &keytab_table(&s, "alice", "alice"));
    let plan = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let apply = dir
        .hsync(["apply", "plan.json", "--summary", "summary.json"])
        .ok();
    assert_eq!(s.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
    assert_eq!(s.stat("%u", &format!("{root}/dst/d0/f0")), "alice");
    dir.hsync(["plan", "--detailed-exitcode"]).ok();

    // No key of the keytab, in hex or in bytes, in anything hsync wrote.
    let keys = keys_of(&keytab("alice"));
    assert!(!keys.is_empty());
    wrote_none_of(&keys, &dir, [plan, apply]);
}

/// Neither `secrets` nor their hex spelling in the outputs of a plan and an
/// apply, in the plan and summary files of `dir`, nor in its state folder.
fn wrote_none_of(secrets: &[Vec<u8>], dir: &Dir, outputs: [Output; 2]) {
    let mut written = vec![dir.read("plan.json"), dir.read("summary.json")];
    for output in outputs {
        written.extend([output.stdout.into_bytes(), output.stderr.into_bytes()]);
    }
    for entry in std::fs::read_dir(dir.join(".hsync")).expect("the state folder") {
        written.push(std::fs::read(entry.expect("an entry").path()).unwrap_or_default());
    }
    for secret in secrets {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        for output in &written {
            assert!(!holds(output, secret) && !holds(output, hex.as_bytes()));
        }
    }
}

/// The keys a keytab holds, as `klist -kK` prints them.
fn keys_of(keytab: &str) -> Vec<Vec<u8>> {
    let out = Command::new("klist")
        .args(["-kK", keytab])
        .output()
        .expect("klist runs");
    String::from_utf8_lossy(&out.stdout)
        .split("(0x")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|hex| {
            (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

#[test]
fn hadoop3_a_ticket_cache_from_kinit_plans_and_applies() {
    let root = unique_root("secure-cache");
    let dir = Dir::new();
    let cache = format!("FILE:{}", dir.join("alice.ccache").display());
    let kinit = Command::new("kinit")
        .args(["-c", &cache, "-kt", &keytab("alice")])
        .arg(format!("alice@{}", realm()))
        .status()
        .expect("kinit runs");
    assert!(kinit.success());
    let s = cluster("s");
    let table = format!(
        "{}{}",
        s.manifest_table(None),
        with(&[
            ("kerberos_principal", &format!("alice@{}", realm())),
            ("kerberos_cache", &cache),
        ])
    );
    let s = secure_job(&dir, &root, &table);
    dir.plan();
    dir.apply();
    assert_eq!(s.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
    assert_eq!(s.stat("%u", &format!("{root}/dst")), "alice");
}

#[test]
fn hadoop3_refusals_name_the_cluster_and_the_cause_and_write_nothing() {
    let s = cluster("s");
    let cases = [
        (
            "no credentials",
            s.manifest_table(None),
            "run `kinit`, or set `kerberos_principal`",
        ),
        (
            "a keytab without the principal's key",
            keytab_table(&s, "alice", "bob"),
            "does the keytab hold its key",
        ),
        (
            "a principal the realm does not know",
            keytab_table(&s, "mallory", "alice"),
            "is the principal right",
        ),
        (
            "SIMPLE settings",
            format!("[clusters.s]\nurl = {:?}\n", s.url),
            "if the cluster is Kerberized, give its `config_dir`",
        ),
    ];
    for (case, table, cause) in cases {
        let root = unique_root("secure-refused");
        let dir = Dir::new();
        secure_job(&dir, &root, &table);
        let empty = format!("FILE:{}", dir.join("no.ccache").display());
        let out = dir
            .hsync(["plan", "-o", "plan.json"])
            .env("KRB5CCNAME", &empty)
            .code(1);
        assert!(
            says(&out.stderr, "cluster `s` (hdfs://localhost"),
            "{case}: {out}"
        );
        assert!(says(&out.stderr, cause), "{case}: {out}");
        assert!(!dir.exists("plan.json"), "{case}: a plan was written");
        assert!(!s.exists(&root), "{case}: {root} was written");
    }
}

#[test]
fn hadoop3_a_user_the_namenode_denies_is_refused_and_nothing_is_written() {
    let root = unique_root("secure-denied");
    let dir = Dir::new();
    let s = cluster("s");
    // alice's root, where bob may not write.
    s.shell(&["-mkdir", "-p", &root]);
    s.shell(&["-chown", "alice", &root]);
    let s = secure_job(&dir, &root, &keytab_table(&s, "bob", "bob"));
    dir.plan();
    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert!(says(&out.stderr, "permission denied"), "{out}");
    assert!(!s.exists(&format!("{root}/dst")), "{out}");
}

#[test]
fn hadoop3_a_lock_another_principal_left_is_refused_and_its_owner_takes_it_over() {
    let root = unique_root("secure-lock");
    let (dir, bobs) = (Dir::new(), Dir::new());
    let s = cluster("s");
    let s = secure_job(&dir, &root, &keytab_table(&s, "alice", "alice"));
    dir.plan();
    // alice's apply dies after 3 copies, as `kill -9` would: her lock stays.
    let mut killed = dir
        .hsync(["apply", "plan.json"])
        .env(
            "HSYNC_DEBUG_KILL",
            &format!("copied-3:{}", dir.join("killed").display()),
        )
        .spawn(&dir, "killed");
    let status = wait_bounded(
        &mut killed,
        &dir,
        "killed",
        std::time::Duration::from_secs(60),
    );
    assert!(
        !status.success() && dir.exists("killed"),
        "alice's apply was not killed"
    );
    let lock = format!("{root}/dst/.hsync-tmp.lock");
    assert_eq!(s.stat("%u %a", &lock), "alice 600");
    let before = s.paths(&format!("{root}/dst"));
    // bob could write there, but for the lock.
    s.shell(&["-chmod", "777", &format!("{root}/dst")]);
    secure_job(&bobs, &root, &keytab_table(&s, "bob", "bob"));
    bobs.plan();
    let out = bobs.hsync(["apply", "plan.json"]).code(1);
    assert!(
        says(&out.stderr, "is locked by another user's apply"),
        "{out}"
    );
    assert_eq!(
        s.stat("%u %a", &lock),
        "alice 600",
        "bob took the lock over"
    );
    assert_eq!(s.paths(&format!("{root}/dst")), before, "bob wrote");
    // alice's same command takes her lock over and finishes.
    dir.hsync(["apply", "plan.json"]).ok();
    assert_eq!(s.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
    assert!(!s.exists(&lock));
}

/// What tcpdump saw on the loopback, filtered by `filter`, while `run` ran.
fn captured(dir: &Dir, name: &str, filter: &str, run: impl FnOnce()) -> Vec<u8> {
    let pcap = dir.join(&format!("{name}.pcap"));
    let mut dump = Command::new("tcpdump")
        // Each packet handed over at once, into a buffer no copy fills.
        .args([
            "-i",
            "lo",
            "--immediate-mode",
            "-B",
            "65536",
            "-U",
            "-s",
            "0",
            "-w",
        ])
        .arg(&pcap)
        .arg(filter)
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump runs (scripts/secure installs it)");
    let mut said = String::new();
    let mut stderr = BufReader::new(dump.stderr.take().expect("piped"));
    stderr.read_line(&mut said).expect("tcpdump's first line");
    assert!(said.contains("listening on lo"), "tcpdump: {said}");
    run();
    // tcpdump writes each packet as it reads it (-U): once the file stops
    // growing it has read all there was; interrupted, it exits.
    let size = || std::fs::metadata(&pcap).map_or(0, |m| m.len());
    let mut seen = size();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(400));
        let now = size();
        if now == seen {
            break;
        }
        seen = now;
    }
    Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status()
        .expect("kill runs");
    dump.wait().expect("tcpdump ends");
    let mut counts = String::new();
    stderr
        .read_to_string(&mut counts)
        .expect("tcpdump's counts");
    assert!(
        counts.lines().any(|l| l == "0 packets dropped by kernel"),
        "tcpdump missed packets: {counts}"
    );
    std::fs::read(&pcap).expect("the capture")
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn hadoop3_a_capture_of_the_wire_holds_none_of_the_copied_bytes_or_names() {
    const CONTENT: &str = "hsync-plaintext-content-marker ";
    const NAME: &str = "hsync-plaintext-name-marker";
    let copy = |cluster: &Cluster, table: &str, ports: &str| {
        let dir = Dir::new();
        let root = unique_root("secure-wire");
        dir.create(&format!("src/{NAME}"), CONTENT.repeat(10_000));
        dir.manifest(&format!(
            "{table}\n[[job]]\nname = \"wire\"\nsources = [{:?}]\ntarget = {:?}\n",
            dir.join("src").display().to_string(),
            cluster.alias(&format!("{root}/dst")),
        ));
        dir.plan();
        let wire = captured(&dir, cluster.name, ports, || {
            dir.apply();
        });
        assert!(
            wire.len() > 300_000,
            "{}: the copy did not cross the captured ports ({} bytes seen)",
            cluster.name,
            wire.len()
        );
        wire
    };
    // The capture sees a plain cluster's bytes and names: it would see
    // the secure one's if they were there.
    let a = cluster("a");
    let plain = copy(&a, &a.manifest_table(None), "tcp portrange 17000-17199");
    assert!(holds(&plain, CONTENT.as_bytes()) && holds(&plain, NAME.as_bytes()));

    let s = cluster("s");
    let secure = copy(
        &s,
        &keytab_table(&s, "alice", "alice"),
        "tcp portrange 15000-15099",
    );
    assert!(!holds(&secure, CONTENT.as_bytes()), "content in the clear");
    assert!(!holds(&secure, NAME.as_bytes()), "a file name in the clear");
}

/// `principal`'s lines in the KDC's log that name `service`: one per ticket
/// the KDC issued it for that service (`krbtgt/REALM@REALM` is a login).
fn tickets_issued(principal: &str, service: &str) -> usize {
    let log = secure_log("kdc.log");
    let issued = format!("{principal} for {service}");
    log.lines()
        .filter(|l| l.contains("ISSUE") && l.ends_with(&issued))
        .count()
}

/// A log of the secure bed's daemons (`kdc.log`, `t-namenode.log`...).
fn secure_log(name: &str) -> String {
    let logs = std::env::var("HSYNC_TEST_SECURE_LOGS").expect("the secure bed's logs");
    std::fs::read_to_string(format!("{logs}/{name}")).expect("a log of the secure bed")
}

fn kinit(cache: &str, principal: &str, keytab: &str) {
    let kinit = Command::new("kinit")
        .args(["-c", cache, "-kt", keytab, principal])
        .status()
        .expect("kinit runs");
    assert!(kinit.success(), "kinit {principal}");
}

/// [`secure_job`]'s files copied into `ROOT/dst` on s with `credentials`.
fn landed_on_s(dir: &Dir, root: &str, credentials: &str) {
    let s = cluster("s");
    secure_job(
        dir,
        root,
        &format!("{}{credentials}", s.manifest_table(None)),
    );
    dir.plan();
    dir.apply();
}

/// A manifest of one job from `from` on s to `to` on t, both clusters with
/// the same `credentials`.
fn across(credentials: &str, from: &str, to: &str) -> String {
    let (s, t) = (cluster("s"), cluster("t"));
    format!(
        "{}{credentials}\n{}{credentials}\n[[job]]\nname = \"across\"\nsources = [{:?}]\n\
         target = {:?}\nmode = \"update\"\n",
        s.manifest_table(None),
        t.manifest_table(None),
        s.alias(from),
        t.alias(to),
    )
}

#[test]
fn hadoop3_across_two_realms_a_user_of_one_copies_to_the_other_with_a_keytab_or_a_ticket_cache() {
    let root = unique_root("secure-realms");
    let dir = Dir::new();
    let t = cluster("t");
    let alice = format!("alice@{}", realm());
    let keytab = with(&[
        ("kerberos_principal", &alice),
        ("kerberos_keytab", &keytab("alice")),
    ]);
    let cache = format!("FILE:{}", dir.join("alice.ccache").display());
    kinit(&cache, &alice, &self::keytab("alice"));
    let from_cache = with(&[("kerberos_principal", &alice), ("kerberos_cache", &cache)]);
    // The tree lands on s (alice's own realm) first.
    landed_on_s(&dir, &root, &keytab);

    let trusts = tickets_issued(&alice, "krbtgt/T.HSYNC.TEST@S.HSYNC.TEST");
    for (credentials, to) in [(&keytab, "by-keytab"), (&from_cache, "by-cache")] {
        dir.manifest(&across(
            credentials,
            &format!("{root}/dst"),
            &format!("{root}/{to}"),
        ));
        dir.plan();
        dir.apply();
        assert_eq!(
            t.tree(&format!("{root}/{to}"), &dir),
            dir.tree("src"),
            "{to}"
        );
        // t's NameNode maps alice of the other realm to her short name.
        assert_eq!(t.stat("%u", &format!("{root}/{to}/d0/f0")), "alice", "{to}");
        dir.hsync(["plan", "--detailed-exitcode"]).ok();
    }
    // Through the trust: S's KDC issued alice tickets to T's.
    assert!(tickets_issued(&alice, "krbtgt/T.HSYNC.TEST@S.HSYNC.TEST") > trusts);
    assert!(tickets_issued(&alice, "nn/t.hsync.test@T.HSYNC.TEST") > 0);
}

/// A TCP relay to a NameNode whose connections a test can cut, as a
/// NameNode restart or a network blip does: the client must connect, and
/// authenticate, again.
struct Relay {
    port: u16,
    live: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn to(address: String) -> Relay {
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let live = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let streams = std::sync::Arc::clone(&live);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&address) else {
                    continue;
                };
                let ends = [&client, &server].map(|s| s.try_clone().expect("a socket clone"));
                streams.lock().expect("the relay's list").extend(ends);
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        Relay { port, live }
    }

    /// Closes every connection relayed so far.
    fn cut(&self) {
        for stream in self.live.lock().expect("the relay's list").drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Copies what `from` reads to `to` until either end closes.
fn pipe(from: &std::net::TcpStream, to: &std::net::TcpStream) {
    let (mut from, mut to) = (
        from.try_clone().expect("a socket clone"),
        to.try_clone().expect("a socket clone"),
    );
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// carol's tickets last 20 s. Applies a job of three files of 2.5 MiB at
/// 256 KiB/s, one at a time (30 s), into `ROOT/dst` on s through a relay,
/// with carol's `credentials`; runs `meanwhile` and cuts the relay's
/// connections once the ticket the apply started with has expired. Returns
/// how the apply ended, and how many times carol had logged in before the cut.
fn apply_outliving_a_ticket(
    dir: &Dir,
    root: &str,
    credentials: &str,
    meanwhile: impl FnOnce(),
) -> (std::process::ExitStatus, usize) {
    let s = cluster("s");
    for i in 0..3 {
        dir.create(&format!("src/f{i}"), noise(5 << 19, 40 + i));
    }
    let relay = Relay::to(s.url.trim_start_matches("hdfs://").to_string());
    dir.manifest(&format!(
        "[clusters.s]\nurl = \"hdfs://localhost:{}\"\nconfig_dir = {:?}\n{credentials}\n\
         [[job]]\nname = \"long\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
         bandwidth = \"256KiB/s\"\nparallel = 1\n",
        relay.port,
        s.config_dir.as_deref().expect("s's config folder"),
        dir.join("src").display().to_string(),
        s.alias(&format!("{root}/dst")),
    ));
    dir.plan();
    let mut apply = dir.hsync(["apply", "plan.json"]).spawn(dir, "apply");
    // Past the 20 s of the ticket the apply started with, before its end.
    std::thread::sleep(std::time::Duration::from_secs(24));
    meanwhile();
    let logins = logins_of_carol();
    relay.cut();
    let hang = std::time::Duration::from_secs(120);
    (wait_bounded(&mut apply, dir, "apply", hang), logins)
}

fn logins_of_carol() -> usize {
    tickets_issued(
        &format!("carol@{}", realm()),
        "krbtgt/S.HSYNC.TEST@S.HSYNC.TEST",
    )
}

#[test]
fn hadoop3_a_ticket_that_expires_during_a_long_apply_is_renewed_from_the_keytab() {
    let root = unique_root("secure-renew");
    let dir = Dir::new();
    let carol = format!("carol@{}", realm());
    let credentials = with(&[
        ("kerberos_principal", &carol),
        ("kerberos_keytab", &keytab("carol")),
    ]);
    // hsync's lock on the target is carol's alone.
    let mut lock_mode = None;
    let (status, logins) = apply_outliving_a_ticket(&dir, &root, &credentials, || {
        let lock = format!("{root}/dst/.hsync-tmp.lock");
        lock_mode = Some(cluster("s").stat("%a %u", &lock));
    });
    assert!(status.success(), "{}", dir.read_to_string("apply.stderr"));
    assert_eq!(
        cluster("s").tree(&format!("{root}/dst"), &dir),
        dir.tree("src")
    );
    // The connection after the cut logged in again, from the keytab.
    assert!(logins_of_carol() > logins);
    assert_eq!(lock_mode.as_deref(), Some("600 carol"));
}

#[test]
fn hadoop3_a_ticket_cache_that_expires_during_an_apply_stops_it_clearly_and_a_resume_finishes_it() {
    let root = unique_root("secure-expire");
    let dir = Dir::new();
    let carol = format!("carol@{}", realm());
    let cache = format!("FILE:{}", dir.join("carol.ccache").display());
    kinit(&cache, &carol, &keytab("carol"));
    let credentials = with(&[("kerberos_principal", &carol), ("kerberos_cache", &cache)]);
    let (status, _) = apply_outliving_a_ticket(&dir, &root, &credentials, || ());
    let stderr = dir.read_to_string("apply.stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(says(&stderr, "cluster `s`"), "{stderr}");
    assert!(
        says(&stderr, "the ticket has expired: run `kinit` again"),
        "{stderr}"
    );
    assert!(
        says(&stderr, "a cluster refused the credentials"),
        "{stderr}"
    );
    // Its own lock could not be removed either: the resume takes it over.
    assert!(says(&stderr, "the lock stays"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&dir.read_to_string("apply.stdout")).expect("the summary");
    let copied = summary["files_copied"].as_u64().expect("files_copied");
    assert!(copied < 3, "{summary}");

    // A new ticket, the same command: only what was not done is copied.
    kinit(&cache, &carol, &keytab("carol"));
    dir.hsync(["apply", "plan.json", "--summary", "resumed.json"])
        .ok();
    let resumed: serde_json::Value =
        serde_json::from_slice(&dir.read("resumed.json")).expect("the summary");
    assert_eq!(resumed["files_already_done"], copied, "{resumed}");
    assert_eq!(resumed["files_copied"], 3 - copied, "{resumed}");
    assert_eq!(
        cluster("s").tree(&format!("{root}/dst"), &dir),
        dir.tree("src")
    );
}

/// The tokens of a token file of Hadoop's `java` format (`HDTS`, version
/// 0): a count, then each token's alias, identifier, password, kind and
/// service, each after its length.
fn tokens_of(file: &[u8]) -> Vec<Token> {
    assert_eq!(&file[..5], b"HDTS\0", "a token file");
    let mut fields = Fields(file, 5);
    (0..fields.vint())
        .map(|_| {
            let [_alias, _identifier, password, kind, service] =
                [(); 5].map(|()| fields.field().to_vec());
            let text =
                |bytes: Vec<u8>| String::from_utf8(bytes).expect("a token's kind or service");
            Token {
                password,
                kind: text(kind),
                service: text(service),
            }
        })
        .collect()
}

#[derive(Debug)]
struct Token {
    password: Vec<u8>,
    kind: String,
    service: String,
}

/// A Hadoop `Writable`'s fields, from byte `.1` on.
struct Fields<'a>(&'a [u8], usize);

impl Fields<'_> {
    fn byte(&mut self) -> u8 {
        self.1 += 1;
        self.0[self.1 - 1]
    }

    /// Hadoop's VInt of a length: one byte below 128, else a byte saying
    /// how many big-endian bytes follow (-113 one, -114 two...).
    fn vint(&mut self) -> usize {
        let first = self.byte() as i8;
        assert!(first >= -120 && !(-112..0).contains(&first), "a length");
        match usize::try_from(first) {
            Ok(length) => length,
            Err(_) => {
                (0..-112 - i32::from(first)).fold(0, |n, _| n << 8 | usize::from(self.byte()))
            }
        }
    }

    fn field(&mut self) -> &[u8] {
        let length = self.vint();
        self.1 += length;
        &self.0[self.1 - length..self.1]
    }
}

/// A distributed apply's setting: alice's files landed in `ROOT/dst` on s,
/// and the manifest of their copy to `ROOT/copy` on t, with her keytab
/// copied into the folder (the applying machine's; the workers' nodes have
/// none). The root, the folder, alice and the keytab's path.
fn alice_across(name: &str) -> (String, Dir, String, String) {
    let alice = format!("alice@{}", realm());
    let (root, dir) = (unique_root(name), Dir::new());
    std::fs::copy(keytab("alice"), dir.join("alice.keytab")).expect("a keytab copy");
    let keytab = dir.join("alice.keytab").display().to_string();
    let credentials = with(&[("kerberos_principal", &alice), ("kerberos_keytab", &keytab)]);
    landed_on_s(&dir, &root, &credentials);
    dir.manifest(&across(
        &credentials,
        &format!("{root}/dst"),
        &format!("{root}/copy"),
    ));
    (root, dir, alice, keytab)
}

#[test]
fn hadoop3_workers_with_delegation_tokens_alone_copy_across_the_realms_and_show_no_token() {
    let (root, dir, alice, keytab) = alice_across("secure-tokens");

    // What a job client hands its tasks: a token of each cluster.
    let cache = format!("FILE:{}", dir.join("alice.ccache").display());
    kinit(&cache, &alice, &keytab);
    let tokens = dir.join("tokens").display().to_string();
    for cluster in ["s", "t"] {
        let out = Command::new(crate::cluster::script_of(cluster))
            .args(["token", cluster, &cache, &tokens])
            .output()
            .expect("scripts/secure runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let passwords: Vec<_> = tokens_of(&dir.read("tokens"))
        .into_iter()
        .map(|token| token.password)
        .collect();
    assert_eq!(passwords.len(), 2);
    // The engine: the examples' workers with the tokens, no keytab and no ticket.
    let xargs = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/engines/xargs.sh");
    dir.create(
        "engine.sh",
        format!(
            "mv {keytab} {keytab}.away\n\
             HADOOP_TOKEN_FILE_LOCATION={tokens} KRB5CCNAME=FILE:/nonexistent sh {xargs}\n\
             status=$?\nmv {keytab}.away {keytab}\nexit $status\n"
        ),
    );
    let plan = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let engine = format!("sh {}", dir.join("engine.sh").display());
    let apply = spread(&dir, &["command", "--engine-command", &engine]).ok();
    copied_to_t_as_alice(&dir, &root);
    wrote_none_of(&passwords, &dir, [plan, apply]);
}

/// [`alice_across`]'s apply by two workers of `engine` (its name and
/// arguments), the summary in `summary.json`.
fn spread(dir: &Dir, engine: &[&str]) -> TestCommand {
    let mut apply = dir.hsync([
        "apply",
        "plan.json",
        "--summary",
        "summary.json",
        "--workers",
        "2",
        "--engine",
    ]);
    apply.args(engine.iter().copied());
    apply
}

/// [`alice_across`]'s files are on t, owned by alice.
fn copied_to_t_as_alice(dir: &Dir, root: &str) {
    let t = cluster("t");
    assert_eq!(t.tree(&format!("{root}/copy"), dir), dir.tree("src"));
    assert_eq!(t.stat("%u", &format!("{root}/copy/d0/f0")), "alice");
}

/// The secure bed's YARN folder.
fn secure_yarn() -> String {
    std::env::var("HSYNC_TEST_SECURE_YARN").expect("the secure bed's YARN")
}

/// What `run` returns, and the tokens alice's YARN containers were given
/// while it ran, read as they ran (a NodeManager deletes a container's
/// tokens as it ends), each with the path of its container.
fn watching_tokens<T>(run: impl FnOnce() -> T) -> (T, Vec<(PathBuf, Token)>) {
    let appcache = format!("{}/data/local/usercache/alice/appcache", secure_yarn());
    let done = AtomicBool::new(false);
    let mut seen = BTreeMap::new();
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let containers = std::fs::read_dir(&appcache)
                    .into_iter()
                    .flatten()
                    .flat_map(|app| std::fs::read_dir(app.ok()?.path()).ok())
                    .flatten();
                for container in containers.flatten() {
                    let file = container.path().join("container_tokens");
                    if let Ok(bytes) = std::fs::read(&file) {
                        seen.insert(container.path(), bytes);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let result = run();
        done.store(true, Ordering::Relaxed);
        result
    });
    let tokens = seen
        .into_iter()
        .flat_map(|(container, file)| {
            tokens_of(&file)
                .into_iter()
                .map(move |token| (container.clone(), token))
        })
        .collect();
    (result, tokens)
}

/// The files the containers of YARN application `app` logged (the
/// workers' stderr and reports among them).
fn logs_of(app: &str) -> Vec<Vec<u8>> {
    std::fs::read_dir(format!("{}/data/logs/{app}", secure_yarn()))
        .expect("the application's logs")
        .flat_map(|container| std::fs::read_dir(container.expect("a container").path()))
        .flatten()
        .map(|file| std::fs::read(file.expect("a log").path()).expect("a container's log"))
        .collect()
}

/// The RPC connections t's NameNode took from alice with a delegation token.
fn token_logins_on_t() -> usize {
    secure_log("t-namenode.log")
        .lines()
        .filter(|line| line.contains("Auth successful for alice@") && line.contains("(auth:TOKEN)"))
        .count()
}

#[test]
fn hadoop3_a_chunked_apply_on_secure_yarn_gives_its_workers_delegation_tokens_alone() {
    let (root, dir, _, keytab) = alice_across("secure-yarn");
    let t = cluster("t");
    let keys = keys_of(&keytab);
    let plan = dir.hsync(["plan", "-o", "plan.json"]).ok();
    // The keytab leaves this machine once the job is submitted: the tasks
    // have the job's tokens alone.
    let mapred = std::env::var("HSYNC_TEST_SECURE_MAPRED").expect("the secure bed's mapred");
    dir.create(
        "mapred.sh",
        format!(
            "set -o pipefail\n{mapred} \"$@\" 2>&1 | while IFS= read -r line; do\n  \
             printf '%s\\n' \"$line\" >&2\n  \
             case $line in *'Submitted application'*) mv {keytab} {keytab}.away ;; esac\n\
             done\n"
        ),
    );
    let logins_before = token_logins_on_t();
    let mapred = format!("bash {}", dir.join("mapred.sh").display());
    let (apply, tokens) =
        watching_tokens(|| spread(&dir, &["yarn"]).env("HSYNC_MAPRED", &mapred).ok());
    copied_to_t_as_alice(&dir, &root);
    assert!(!dir.exists("alice.keytab"), "the keytab was away");
    assert!(
        token_logins_on_t() > logins_before,
        "the workers used tokens on t"
    );

    let app = apply
        .stderr
        .split("Submitted application ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the launcher names the application");
    let tokens: Vec<Token> = tokens
        .into_iter()
        .filter(|(container, _)| container.to_string_lossy().contains(app))
        .map(|(_, token)| token)
        .collect();
    // The job's tokens are Hadoop's: each names its cluster by address.
    let services: BTreeSet<String> = tokens
        .iter()
        .filter(|token| token.kind == "HDFS_DELEGATION_TOKEN")
        .map(|token| token.service.clone())
        .collect();
    let clusters: BTreeSet<String> = [cluster("s").url, t.url]
        .iter()
        .map(|url| url.replace("hdfs://", "").replace("localhost", "127.0.0.1"))
        .collect();
    assert_eq!(services, clusters, "a token of each cluster");
    let secrets: Vec<_> = tokens
        .into_iter()
        .map(|token| token.password)
        .chain(keys)
        .collect();
    for log in &logs_of(app) {
        assert!(
            secrets.iter().all(|secret| !holds(log, secret)),
            "a credential in a container's log"
        );
    }
    wrote_none_of(&secrets, &dir, [plan, apply]);
}
