//! Builds the XDP object with the nightly toolchain so that lb-ctl can embed
//! it (`include_bytes!` of `$OUT_DIR/balancer.o` and `decap.o`).

#[path = "../xtask/src/ebpf_build.rs"]
mod ebpf_build;

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for watched in ["lb-ebpf/src", "lb-ebpf/common/src", "lb-ebpf/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-changed=../xtask/src/ebpf_build.rs");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    // A target dir beside the workspace's, shared by every profile, so a
    // debug and a release build of lb-ctl reuse one eBPF build.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("ebpf");
    match ebpf_build::build_ebpf_object(&root, &target_dir) {
        Ok(dir) => {
            for name in ebpf_build::OBJECTS {
                std::fs::copy(dir.join(name), out_dir.join(format!("{name}.o")))
                    .expect("copy an eBPF object");
            }
        }
        Err(e) => panic!("{e}"),
    }
}
