package main

import (
	"os/exec"
	"syscall"
	"time"
)

// dieWithParent has the kernel send cmd SIGTERM when the bench exits,
// however it exits.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// settle waits until what earlier runs wrote is on disk, and a moment more
// for the machine to go quiet.
func settle() {
	syscall.Sync()
	time.Sleep(500 * time.Millisecond)
}
