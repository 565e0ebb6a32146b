// Package api holds the contract of the steps HTTP API: its OpenAPI
// description, embedded so that stepsd serves it from any binary or image,
// and the map between error codes and HTTP statuses that the server and
// pkg/client share.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml, served at GET /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
