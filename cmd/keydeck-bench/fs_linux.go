package main

import (
	"fmt"
	"syscall"
)

// fsType names the file system dir is on, from statfs's magic number.
func fsType(dir string) (string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", dir, err)
	}
	switch uint64(st.Type) {
	case 0x01021994:
		return "tmpfs", nil
	case 0x858458f6:
		return "ramfs", nil
	case 0xef53:
		return "ext4", nil
	case 0x58465342:
		return "xfs", nil
	case 0x9123683e:
		return "btrfs", nil
	case 0x794c7630:
		return "overlayfs", nil
	case 0x2fc12fc1:
		return "zfs", nil
	case 0x6969:
		return "nfs", nil
	}
	return fmt.Sprintf("file system 0x%x", uint64(st.Type)), nil
}
