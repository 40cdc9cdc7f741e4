//go:build !linux

package main

import (
	"os/exec"
	"time"
)

// dieWithParent needs Linux's parent-death signal; elsewhere a bench
// killed half way can leave its servers running.
func dieWithParent(cmd *exec.Cmd) {}

// settle gives earlier runs' writes a moment to reach the disk.
func settle() { time.Sleep(time.Second) }
