// Package assets holds the files keydeck embeds in its binary.
package assets

import _ "embed"

//go:embed openapi.json
var openapi []byte

// OpenAPI is the OpenAPI 3.1 document of the HTTP API (served at
// /openapi.json). Callers must not modify the returned bytes.
func OpenAPI() []byte { return openapi }
