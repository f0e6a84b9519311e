//! The `lbd` binary's `--check`: exit status and file:line messages.

use std::process::Command;

fn lbd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lbd"))
}

fn golden(name: &str) -> String {
    format!("{}/tests/lbd_golden/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_accepts_a_valid_file_and_says_what_it_holds() {
    let dir = std::env::temp_dir().join(format!("lbd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ok.yaml");
    std::fs::write(
        &path,
        "vrrp_instances:\n  - interface: eth0\n    virtual_router_id: 7\n    virtual_ipaddress: [10.0.0.1/24]\nvirtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n",
    )
    .unwrap();
    let out = lbd()
        .args(["--check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with(": OK (1 vrrp instance(s), 1 virtual server(s))\n"),
        "{stdout}"
    );
}

#[test]
fn check_rejects_a_bad_file_with_its_place() {
    let path = golden("duplicate_vip.yaml");
    let out = lbd().args(["--check", "--config", &path]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr, format!("{path}:9:9: duplicate VIP 198.18.0.100\n"));
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let out = lbd()
        .args(["--check", "--config", "/nonexistent/lbd.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("/nonexistent/lbd.yaml: cannot read:"),
        "{stderr}"
    );
}
