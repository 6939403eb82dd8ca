package treewrite

// timePrecision: Windows keeps file times in units of 100 ns.
const timePrecision = 100
