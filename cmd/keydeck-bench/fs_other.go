//go:build !linux

package main

// fsType cannot tell the file system here; the caller must make sure the
// folder is on disk.
func fsType(string) (string, error) { return "unknown file system", nil }
