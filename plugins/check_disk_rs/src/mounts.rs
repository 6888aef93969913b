//! The mount table: parsing /proc/self/mountinfo, telling pseudo and network
//! file systems apart, and finding the mount that holds a path.

use std::collections::HashSet;

use rsplugins::procfs::unescape_octal;

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount id.
    pub id: u64,
    /// Id of the parent mount.
    pub parent: u64,
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Directory of the file system mounted here (`/` unless a bind mount or subvolume).
    pub root: String,
    /// Where it is mounted.
    pub mount_point: String,
    /// File system type (`ext4`, `nfs4`, `fuse.sshfs`).
    pub fs_type: String,
    /// Mount source: the device, `server:/export`, or a name such as `tmpfs`.
    pub source: String,
}

impl Mount {
    /// The device number pair, which bind mounts and subvolumes share.
    pub fn device(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

/// Parses one line:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    if sep < 6 || fields.len() < sep + 3 {
        return None;
    }
    let (major, minor) = fields[2].split_once(':')?;
    Some(Mount {
        id: fields[0].parse().ok()?,
        parent: fields[1].parse().ok()?,
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        root: unescape_octal(fields[3]),
        mount_point: unescape_octal(fields[4]),
        fs_type: unescape_octal(fields[sep + 1]),
        source: unescape_octal(fields[sep + 2]),
    })
}

/// All well-formed lines of a mountinfo text, in order (malformed lines are skipped).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

/// Drops mounts hidden by a later mount on the same mount point (the kernel
/// lists a mount before the ones stacked on top of it); keeps the order.
pub fn visible(mounts: &[Mount]) -> Vec<Mount> {
    let mut seen = HashSet::new();
    let mut out: Vec<Mount> = mounts
        .iter()
        .rev()
        .filter(|m| seen.insert(m.mount_point.as_str()))
        .cloned()
        .collect();
    out.reverse();
    out
}

/// Types that hold no user data (kernel interfaces, memory, container layers,
/// read-only images); skipped unless named by `-p` or included with `-N`.
pub const PSEUDO_TYPES: &[&str] = &[
    "anon_inodefs",
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "cpuset",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nfsd",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "usbfs",
];

/// Network and cluster file system types (`-l` skips them).
pub const NETWORK_TYPES: &[&str] = &[
    "9p",
    "afs",
    "beegfs",
    "ceph",
    "cifs",
    "coda",
    "davfs",
    "fuse.ceph-fuse",
    "fuse.glusterfs",
    "fuse.rclone",
    "fuse.s3fs",
    "fuse.sshfs",
    "gfs",
    "gfs2",
    "glusterfs",
    "gpfs",
    "lustre",
    "ncpfs",
    "nfs",
    "nfs4",
    "ocfs2",
    "orangefs",
    "panfs",
    "smb3",
    "smbfs",
    "sshfs",
];

/// Types whose statvfs the kernel answers from the superblock's counters in
/// memory: no I/O, no server to wait for. These are asked on the main
/// thread; every other type on a worker that may hang (see `stat`).
pub const ANSWERS_FROM_MEMORY: &[&str] = &["ext2", "ext3", "ext4", "tmpfs", "xfs"];

/// Whether a statvfs of the mount cannot hang.
pub fn answers_at_once(mount: &Mount) -> bool {
    ANSWERS_FROM_MEMORY.contains(&mount.fs_type.as_str()) && !is_remote(mount)
}

/// Whether the type is a pseudo file system.
pub fn is_pseudo(fs_type: &str) -> bool {
    PSEUDO_TYPES.contains(&fs_type)
}

/// Whether the mount is a network file system: a known type, or a source of
/// the form `host:/path` or `//host/share` (what gnulib's mount list checks).
pub fn is_remote(mount: &Mount) -> bool {
    NETWORK_TYPES.contains(&mount.fs_type.as_str())
        || mount.source.contains(":/")
        || mount.source.starts_with("//")
}

/// `/data/` and `/data` name the same mount point.
pub fn normalize(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() && path.starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

/// The mount whose mount point, else whose device, is exactly `path`.
pub fn exact<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let path = normalize(path);
    if path.is_empty() {
        return None;
    }
    mounts
        .iter()
        .find(|m| m.mount_point == path)
        .or_else(|| mounts.iter().find(|m| m.source == path))
}

/// Whether `dir` is `path` or one of its parent directories.
fn is_prefix(dir: &str, path: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// The mount holding the absolute, canonical `path`: the longest mount point
/// that is `path` or one of its parents.
pub fn containing<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    if !path.starts_with('/') {
        return None;
    }
    mounts
        .iter()
        .filter(|m| is_prefix(&m.mount_point, path))
        .max_by_key(|m| m.mount_point.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taken from a real system, with a space in one mount point and a stacked mount.
    const FIXTURE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334492k,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684092k
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
30 24 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=100k
40 27 8:17 / /srv/my\\040data rw,noatime shared:30 master:2 - xfs /dev/sdb1 rw
41 27 8:1 /var/lib/x /mnt/bind rw,relatime - ext4 /dev/sda1 rw
42 27 0:50 / /mnt/nfs rw,relatime - nfs4 fileserver:/export rw,vers=4.2
43 27 0:51 / /mnt/share rw,relatime - cifs //winbox/share rw
44 27 0:52 / /mnt/odd rw,relatime - fuse.weird backup:/vol rw
garbage line
45 27 0:53 / /broken rw - 
";

    #[test]
    fn parses_fields_and_unescapes() {
        let mounts = parse_mountinfo(FIXTURE);
        assert_eq!(mounts.len(), 11);
        let root = &mounts[4];
        assert_eq!(
            root,
            &Mount {
                id: 27,
                parent: 1,
                major: 8,
                minor: 1,
                root: "/".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                source: "/dev/sda1".into(),
            }
        );
        // Optional fields (shared:30 master:2) before the separator are skipped.
        assert_eq!(mounts[6].mount_point, "/srv/my data");
        assert_eq!(mounts[6].fs_type, "xfs");
        assert_eq!(mounts[6].source, "/dev/sdb1");
        assert_eq!(mounts[7].root, "/var/lib/x");
        assert_eq!(mounts[8].source, "fileserver:/export");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(parse_mountinfo("").is_empty());
        assert!(parse_mountinfo("1 2 3").is_empty());
        assert!(parse_mountinfo("1 2 x:y / / rw - ext4 /dev/a rw").is_empty());
        assert!(parse_mountinfo("1 2 8:1 / / rw ext4 /dev/a rw").is_empty());
        assert_eq!(parse_mountinfo("1 2 8:1 / / rw - ext4 /dev/a rw").len(), 1);
    }

    #[test]
    fn stacked_mounts_keep_the_top_one_in_order() {
        let v = visible(&parse_mountinfo(FIXTURE));
        let shm: Vec<&Mount> = v.iter().filter(|m| m.mount_point == "/dev/shm").collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm[0].id, 30);
        let points: Vec<&str> = v.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(
            points,
            vec![
                "/proc",
                "/sys",
                "/dev",
                "/",
                "/dev/shm",
                "/srv/my data",
                "/mnt/bind",
                "/mnt/nfs",
                "/mnt/share",
                "/mnt/odd"
            ]
        );
    }

    #[test]
    fn classification() {
        let m = parse_mountinfo(FIXTURE);
        assert!(is_pseudo("tmpfs") && is_pseudo("proc") && is_pseudo("overlay"));
        assert!(!is_pseudo("ext4") && !is_pseudo("xfs"));
        let remote: Vec<&str> = m
            .iter()
            .filter(|m| is_remote(m))
            .map(|m| m.mount_point.as_str())
            .collect();
        assert_eq!(remote, vec!["/mnt/nfs", "/mnt/share", "/mnt/odd"]);
    }

    #[test]
    fn exact_and_containing() {
        let v = visible(&parse_mountinfo(FIXTURE));
        assert_eq!(exact(&v, "/dev/shm/").unwrap().id, 30);
        assert_eq!(exact(&v, "/").unwrap().id, 27);
        assert_eq!(exact(&v, "/dev/sdb1").unwrap().mount_point, "/srv/my data");
        assert!(exact(&v, "/tmp").is_none());
        assert!(exact(&v, "").is_none());
        assert_eq!(containing(&v, "/tmp").unwrap().mount_point, "/");
        assert_eq!(containing(&v, "/dev/shm/x/y").unwrap().id, 30);
        assert_eq!(containing(&v, "/dev/shmx").unwrap().mount_point, "/dev");
        assert_eq!(
            containing(&v, "/srv/my data/a").unwrap().mount_point,
            "/srv/my data"
        );
        assert_eq!(containing(&v, "/srv/my").unwrap().mount_point, "/");
        assert!(containing(&v, "relative").is_none());
        assert_eq!(normalize("///"), "/");
        assert_eq!(normalize("/a//"), "/a");
    }
}
