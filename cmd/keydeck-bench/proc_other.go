//go:build !linux

package main

import "os/exec"

// dieWithParent needs Linux's parent-death signal; elsewhere a bench
// killed half way can leave its servers running.
func dieWithParent(cmd *exec.Cmd) {}
