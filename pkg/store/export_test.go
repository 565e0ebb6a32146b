package store

// ParseDBTime exposes parseDBTime to the tests.
var ParseDBTime = parseDBTime
