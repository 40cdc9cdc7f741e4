// Package api holds the wire form of keydeck's HTTP API: the JSON bodies of
// requests and answers, and the RFC 9457 problem details errors travel as.
// The server (package server) writes these and the remote client (package
// storage/remote) reads them, so a model or storage error survives the trip
// unchanged: the same sentinel, the same fields, the same message. It
// imports model and storage (its page and error types), never the server
// or a store.
//
//   - types.go: request and answer bodies, and their conversions to model types
//   - problem.go: problem types, and errors to problems and back
//   - http.go: where the domain meets HTTP: methods to operations, verdicts
//     to statuses, URLs as an error message may show them
//
// # Problem types
//
// Every error answer is application/problem+json whose "type" is a tag URI
// (RFC 4151; RFC 9457 §3.1.1 suggests one for types that are identifiers,
// not documents to fetch):
//
//	tag:keydeck.dev,2026:<slug>
//
// The slugs are stable; clients compare the whole "type" string. "detail" is
// a sentence for a human and never contains a secret or a token.
package api
