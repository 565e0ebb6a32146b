// Package api holds the OpenAPI description of the steps HTTP API,
// embedded so that stepsd serves it from any binary or image.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml, served at GET /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
