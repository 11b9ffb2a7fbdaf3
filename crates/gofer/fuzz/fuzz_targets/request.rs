//! Any bytes as the body of one gofer frame, answered on a scratch tree as
//! the gofer answers the sentry. What must hold: no panic, and nothing
//! outside the tree changes (a sibling directory holds a file whose name
//! and contents are checked after every request).
#![no_main]

use gofer::server::{answer_body, Tree};
use libfuzzer_sys::fuzz_target;
use rustix::fs::{Mode, OFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::OnceLock;

struct Scratch {
    tree: OwnedFd,
    outside: PathBuf,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("gofer-fuzz-{}", std::process::id()));
        let (tree, outside) = (base.join("tree"), base.join("outside"));
        std::fs::create_dir_all(tree.join("d")).expect("scratch tree");
        std::fs::create_dir_all(&outside).expect("scratch sibling");
        std::fs::write(tree.join("f"), b"data").expect("scratch file");
        std::fs::write(outside.join("keep"), b"untouched").expect("sentinel");
        let _ = std::os::unix::fs::symlink("../outside/keep", tree.join("escape"));
        let tree = rustix::fs::open(&tree, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).expect("tree fd");
        Scratch { tree, outside }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = scratch();
    let trees = [Tree::dir(s.tree.as_fd())];
    let _ = answer_body(&trees, data);
    let names: Vec<_> =
        std::fs::read_dir(&s.outside).expect("sibling").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names, ["keep"], "a request changed a directory outside the tree");
    assert_eq!(std::fs::read(s.outside.join("keep")).expect("sentinel"), b"untouched");
});
