//go:build unix && !darwin

package treewrite

// timePrecision: Linux and FreeBSD set times to the nanosecond.
const timePrecision = 1
