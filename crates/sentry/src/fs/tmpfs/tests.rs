use super::*;

fn user(uid: u32) -> Credentials {
    Credentials::of(uid, uid)
}

fn fs(size: u64) -> (State, Credentials) {
    let t = TmpFs::new("/t", Options::parse(&[format!("size={size}")], 1 << 30).unwrap());
    let st = Arc::try_unwrap(t.shared).ok().unwrap().state.into_inner().unwrap();
    (st, user(0))
}

fn mkfile(st: &mut State, c: &Credentials, dir: u64, name: &str) -> u64 {
    let ino = st.new_inode(c, 0o022, dir, S_IFREG | 0o666, Data::File { size: 0, pages: BTreeMap::new() });
    st.insert(dir, name, ino);
    ino
}

#[test]
fn options_parse() {
    let o = Options::parse(&["mode=755".into(), "size=65536k".into(), "nosuid".into()], 1 << 30).unwrap();
    assert_eq!((o.mode, o.size, o.flags), (0o755, 64 << 20, abi::st::NOSUID));
    assert_eq!(Options::parse(&[], 1 << 30).unwrap().size, 1 << 29);
    assert_eq!(Options::parse(&["size=50%".into()], 1000).unwrap().size, 500);
    assert!(Options::parse(&["size=1x".into()], 0).is_err());
}

#[test]
fn files_are_sparse_pages_and_size_is_enforced() {
    let (mut st, c) = fs(3 * PAGE);
    let f = mkfile(&mut st, &c, ROOT, "f");
    assert_eq!(st.get(f).mode, S_IFREG | 0o644);
    assert_eq!(st.write(f, b"hello", 2 * PAGE - 2).unwrap(), 5);
    assert_eq!(st.pages, 2);
    let mut buf = [1u8; 8];
    assert_eq!(st.read(f, &mut buf, 2 * PAGE - 4).unwrap(), 7);
    assert_eq!(&buf[..7], b"\0\0hello");
    // One page left: a write over two new pages takes what fits.
    assert_eq!(st.write(f, &[7u8; 2 * PAGE as usize], 4 * PAGE).unwrap(), PAGE as usize);
    assert_eq!(st.write(f, b"x", 10 * PAGE), Err(Errno::ENOSPC));
    st.truncate(f, PAGE + 1).unwrap(); // page 1 stays, pages 2 and 4 go
    assert_eq!(st.pages, 1);
    assert_eq!(st.read(f, &mut buf, PAGE).unwrap(), 1);
    assert_eq!(buf[0], 0);
    st.truncate(f, 1 << 40).unwrap(); // sparse: no pages
    assert_eq!(st.pages, 1);
    assert_eq!(st.stat(0, f).blocks, 8);
}

#[test]
fn directories_count_links_and_free_inodes() {
    let (mut st, c) = fs(PAGE);
    let d = st.new_inode(&c, 0o022, ROOT, S_IFDIR | 0o777, Data::Dir { entries: BTreeMap::new(), parent: ROOT });
    st.insert(ROOT, "d", d);
    assert_eq!(st.get(ROOT).nlink, 3);
    assert_eq!(st.get(d).mode, S_IFDIR | 0o755);
    let f = mkfile(&mut st, &c, d, "f");
    st.write(f, b"x", 0).unwrap();
    assert_eq!(st.walk(&c, "/d/f").unwrap(), f);
    assert_eq!(st.walk(&c, "/d/f/x"), Err(Errno::ENOTDIR));
    assert_eq!(st.walk(&c, "/e"), Err(Errno::ENOENT));
    st.remove(d, "f");
    assert!(!st.inodes.contains_key(&f));
    assert_eq!(st.pages, 0);
    st.remove(ROOT, "d");
    assert_eq!(st.get(ROOT).nlink, 2);
}

#[test]
fn permissions_follow_owner_group_other() {
    let (mut st, root) = fs(PAGE);
    let f = mkfile(&mut st, &root, ROOT, "f"); // 0644 root:root
    let alice = user(1000);
    assert!(permit(&alice, st.get(f), 4).is_ok());
    assert_eq!(permit(&alice, st.get(f), 2), Err(Errno::EACCES));
    assert!(permit(&root, st.get(f), 6).is_ok());
    assert_eq!(permit(&root, st.get(f), 1), Err(Errno::EACCES)); // no x bit at all
    let chmod = SetAttr { mode: Some(0o600), ..SetAttr::default() };
    assert_eq!(st.setattr(&alice, f, &chmod, false), Err(Errno::EPERM));
    let chown = SetAttr { uid: Some(1000), ..SetAttr::default() };
    assert_eq!(st.setattr(&alice, f, &chown, false), Err(Errno::EPERM));
    st.setattr(&root, f, &chown, false).unwrap();
    st.setattr(&alice, f, &chmod, false).unwrap();
    assert_eq!(st.get(f).mode, S_IFREG | 0o600);
    let now = SetAttr { atime: Some(TimeSet::Now), mtime: Some(TimeSet::Now), ..SetAttr::default() };
    assert_eq!(st.setattr(&user(1001), f, &now, false), Err(Errno::EACCES));
    // Sticky directories: only the owner of the file (or the directory) removes it.
    st.get_mut(ROOT).mode = S_IFDIR | 0o1777;
    assert_eq!(st.may_change(&user(1001), ROOT, Some(f)), Err(Errno::EPERM));
    assert!(st.may_change(&alice, ROOT, Some(f)).is_ok());
}
