//! lbd's YAML: defaults, and golden errors (tests/lbd_golden/*.yaml each
//! with the exact message in *.err). `LBD_BLESS=1` rewrites the .err files.

use lb_ctl::lbd::config::{Config, HealthCheck};
use lb_ctl::services::Protocol;
use lb_ctl::{Forward, Scheduler};
use std::path::Path;
use std::time::Duration;

const DESIGN_EXAMPLE: &str = r#"
vrrp_instances:
  - interface: eth0
    virtual_router_id: 51
    priority: 100
    advert_int: 1
    virtual_ipaddress: ["198.18.0.100/24"]
virtual_servers:
  - vip: 198.18.0.100
    port: 6379
    protocol: tcp
    lb_algo: rr
    lb_kind: dr
    real_servers:
      - ip: 198.18.0.21
        port: 6379
        weight: 1
        redis_ping: { connect_timeout: 3, retry: 3, delay_before_retry: 3 }
"#;

#[test]
fn the_design_example_parses_with_keepalived_defaults() {
    let c = Config::parse("design.yaml", DESIGN_EXAMPLE).unwrap();
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.interface, "eth0");
    assert_eq!(vi.virtual_router_id.0, 51);
    assert_eq!(vi.advert_int.centis, 100);
    assert!(vi.preempts());
    assert_eq!(vi.garp_master_repeat, 5);
    assert_eq!(vi.virtual_ipaddress[0].to_string(), "198.18.0.100/24");
    assert_eq!(vi.display_name(), "VI_51");
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.addr().proto, Protocol::Tcp);
    assert_eq!(vs.lb_algo.0, Scheduler::Rr);
    assert_eq!(vs.lb_kind.0, Forward::Dr);
    assert_eq!(vs.delay_loop.0, Duration::from_secs(60));
    let rs = &vs.real_servers[0];
    match rs.check().unwrap() {
        HealthCheck::RedisPing(p) => {
            assert_eq!(p.connect_timeout.0, Duration::from_secs(3));
            assert_eq!(p.retry, 3);
            assert_eq!(p.delay_before_retry.0, Duration::from_secs(3));
        }
        other => panic!("wrong check {other:?}"),
    }
}

#[test]
fn defaults_follow_keepalived_and_ipvsadm() {
    let c = Config::parse(
        "d.yaml",
        "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - ip: 10.0.0.2\n        http_get: {}\n",
    )
    .unwrap();
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.lb_algo.0, Scheduler::Wlc);
    assert_eq!(vs.lb_kind.0, Forward::Nat);
    assert_eq!(vs.persistence_timeout, 0);
    assert!(vs.inhibit_on_failure);
    let rs = &vs.real_servers[0];
    assert_eq!(rs.port_or(80), 80);
    assert_eq!(rs.weight, 1);
    let HealthCheck::Http(h) = rs.check().unwrap() else {
        panic!("http_get expected")
    };
    assert_eq!(h.path, "/");
    assert_eq!(h.status_code, 200);
    assert_eq!(h.params.connect_timeout.0, Duration::from_secs(5));
    assert_eq!(h.params.retry, 1);
    assert_eq!(c.global_defs.instance, "lbd");
}

#[test]
fn keepalived_spellings_are_accepted() {
    let c = Config::parse(
        "k.yaml",
        r#"
vrrp_instances:
  - name: VI_1
    state: MASTER
    interface: eth0
    virtual_router_id: 51
    advert_int: 0.1
    nopreempt: true
    virtual_ipaddress: [198.18.0.100]
virtual_servers:
  - vip: 198.18.0.100
    port: 80
    protocol: TCP
    lb_algo: WLC
    lb_kind: DR
    real_servers:
      - ip: 198.18.0.21
        http_get: { path: /, status_code: 200, nb_get_retry: 3, digest: 9B3A0C85A887A256D6939DA88AABD8CD }
"#,
    )
    .unwrap();
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.advert_int.centis, 10);
    assert!(!vi.preempts());
    assert_eq!(vi.virtual_ipaddress[0].prefix_len, 32);
    assert_eq!(c.virtual_servers[0].lb_kind.0, Forward::Dr);
    let HealthCheck::Http(h) = c.virtual_servers[0].real_servers[0].check().unwrap() else {
        panic!("http_get expected")
    };
    assert_eq!(h.params.retry, 3);
    assert_eq!(h.digest.unwrap().0[0], 0x9b);
}

#[test]
fn an_empty_file_is_an_empty_config() {
    assert_eq!(Config::parse("e.yaml", "").unwrap(), Config::default());
}

#[test]
fn a_missing_file_names_the_file() {
    let e = Config::load(Path::new("/nonexistent/lbd.yaml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/lbd.yaml: cannot read"),
        "{e}"
    );
}

#[test]
fn golden_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lbd_golden");
    let bless = std::env::var_os("LBD_BLESS").is_some();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "golden configs missing");
    let mut mismatches = Vec::new();
    for yaml in files {
        let name = yaml.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&yaml).unwrap();
        let got = match Config::parse(&name, &text) {
            Ok(_) => format!("{name}: accepted, but it is invalid"),
            Err(e) => e.to_string(),
        };
        let err_file = yaml.with_extension("err");
        if bless {
            std::fs::write(&err_file, format!("{got}\n")).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&err_file).unwrap_or_default();
        if want.trim_end() != got {
            mismatches.push(format!("{name}:\n  want {}\n  got  {got}", want.trim_end()));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
