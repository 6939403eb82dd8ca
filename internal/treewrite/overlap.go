package treewrite

import "github.com/efs-project/efs/internal/sys/unix"

// Within reports whether the directory open as inner is outer itself or
// lies anywhere below it. It climbs from inner by ".." and compares device
// and inode numbers, so neither symlinks nor bind mounts in the paths the
// user typed can hide an overlap.
func Within(inner, outer int) (bool, error) {
	var o unix.Stat_t
	if err := unix.Fstat(outer, &o); err != nil {
		return false, err
	}
	fd, err := unix.Openat(inner, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer func() { unix.Close(fd) }()
	for range 4096 { // deeper than any real path; a bound against loops
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return false, err
		}
		if st.Dev == o.Dev && st.Ino == o.Ino {
			return true, nil
		}
		up, err := unix.Openat(fd, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return false, err
		}
		var ust unix.Stat_t
		if err := unix.Fstat(up, &ust); err != nil {
			unix.Close(up)
			return false, err
		}
		unix.Close(fd)
		fd = up
		if ust.Dev == st.Dev && ust.Ino == st.Ino {
			return false, nil // reached /
		}
	}
	return false, nil
}
