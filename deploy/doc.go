// Package deploy holds no code: it is the home of the test that checks the
// Docker Compose file and the Kubernetes manifests beside it against the
// Kubernetes API types and against what stepsd really serves and reads.
//
// It is a module of its own, so that the Kubernetes API packages it needs stay
// out of the main module. Run it with:
//
//	cd deploy && go test ./...
package deploy
