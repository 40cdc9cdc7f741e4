package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/keydeck/keydeck/model"
	"github.com/spf13/cobra"
)

// Numeric flags are read as strings and parsed here, so every bad value
// gets one plain message ("--query: not a whole number") instead of the
// flag package's strconv text.

// parseWhole reads a whole number between lo and hi for --name.
func parseWhole(name, s string, lo, hi int64) (int64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			if strings.HasPrefix(s, "-") {
				return 0, usageErrorf("--%s: cannot be negative", name)
			}
			return 0, usageErrorf("--%s: too large (at most %d)", name, hi)
		}
		if s == "" {
			return 0, usageErrorf("--%s: empty; give a whole number", name)
		}
		return 0, usageErrorf("--%s: not a whole number: %q", name, model.Sanitize(s, 24))
	}
	if v < lo {
		if v < 0 && lo == 0 {
			return 0, usageErrorf("--%s: cannot be negative", name)
		}
		return 0, usageErrorf("--%s: at least %d", name, lo)
	}
	if v > hi {
		return 0, usageErrorf("--%s: too large (at most %d)", name, hi)
	}
	return v, nil
}

// parseQuota reads a quota or credit figure: 0 to model.MaxQuota.
func parseQuota(name, s string) (int64, error) { return parseWhole(name, s, 0, model.MaxQuota) }

// quotaFlag returns the parsed value of a quota flag, or nil when it was
// not given.
func quotaFlag(cmd *cobra.Command, name, s string) (*int64, error) {
	if !cmd.Flags().Changed(name) {
		return nil, nil
	}
	v, err := parseQuota(name, s)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// parsePerm reads --perm ("read,write,delete"); an unknown or empty list
// is a usage error.
func parsePerm(s string) (model.Permission, error) {
	p, err := model.ParsePermissions(s)
	if err != nil {
		return 0, usageErrorf("--perm: %v", err)
	}
	return p, nil
}

// required reports the first of the named flags that was not given.
func required(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			return usageErrorf("%s: missing --%s (usage: %s)", cmdName(cmd), n, cmd.UseLine())
		}
	}
	return nil
}
