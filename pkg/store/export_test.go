package store

// ParseDBTime exposes parseDBTime to the tests.
var ParseDBTime = parseDBTime

// ForceReadBackIDs makes the store read inserted ids back by key, as on a
// database that does not promise consecutive ids.
func ForceReadBackIDs(s *Store) { s.consecutiveIDs = false }

// UseWindowedPages makes ListDeployments build every page with the window
// query, as it does for pages longer than maxGatheredPage.
func UseWindowedPages(s *Store) { s.windowedPages = true }
