//! Compiles moat's vDSO (c/vdso.c, linked by c/vdso.lds) into a shared
//! object that src/lib.rs embeds. The C compiler is the one Rust links
//! with (`CC`, else `cc`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("vdso.so");
    for f in ["c/vdso.c", "c/params.h", "c/vdso.lds"] {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=CC");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-O2",
            "-fPIC",
            "-ffreestanding",
            "-nostdlib",
            "-shared",
            "-fno-stack-protector",
            "-fno-builtin",
            "-fcf-protection=none",
            "-mno-red-zone",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wl,-T,c/vdso.lds",
            "-Wl,-soname=linux-vdso.so.1",
            "-Wl,--hash-style=both",
            "-Wl,--build-id=none",
            "-Wl,-z,max-page-size=4096",
            "-Wl,--no-undefined",
            "-o",
        ])
        .arg(&out)
        .arg("c/vdso.c")
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler `{cc}` for the vDSO: {e}"));
    assert!(status.success(), "compiling the vDSO with `{cc}` failed ({status})");
}
