package store

// ParseDBTime exposes parseDBTime to the tests.
var ParseDBTime = parseDBTime

// ForceReadBackIDs makes the store read inserted ids back by key, as on a
// database that does not promise consecutive ids.
func ForceReadBackIDs(s *Store) { s.consecutiveIDs = false }
