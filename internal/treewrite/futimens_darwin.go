package treewrite

import "golang.org/x/sys/unix"

// UtimeOmit as a Timespec's Nsec leaves that time as it is: macOS's
// UTIME_OMIT (sys/stat.h), which x/sys/unix lacks.
const UtimeOmit = -2

// futimens sets the times of fd. x/sys/unix reaches macOS's futimens
// only through futimes, which takes microseconds: the nanoseconds below
// them are lost. A time of UtimeOmit keeps the one the file has.
func futimens(fd int, atime, mtime unix.Timespec) error {
	if atime.Nsec == UtimeOmit || mtime.Nsec == UtimeOmit {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		if atime.Nsec == UtimeOmit {
			atime = st.Atim
		}
		if mtime.Nsec == UtimeOmit {
			mtime = st.Mtim
		}
	}
	return unix.Futimes(fd, []unix.Timeval{unix.NsecToTimeval(atime.Nano()), unix.NsecToTimeval(mtime.Nano())})
}
