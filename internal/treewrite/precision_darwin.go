package treewrite

// timePrecision: futimens on macOS goes through futimes, microseconds
// (futimens_darwin.go).
const timePrecision = 1000
