// Package browsertest holds no code: it is the home of the tests that drive
// stepsd's page (pkg/server) in a real headless Chromium through chromedp.
//
// It is a module of its own, as deploy/ is, so that chromedp and the
// DevTools protocol packages stay out of the main module's dependencies.
// Its go.mod replaces the main module with this working tree, so it always
// tests the server beside it. Run it with:
//
//	cd pkg/server/browsertest && go test ./...
package browsertest
