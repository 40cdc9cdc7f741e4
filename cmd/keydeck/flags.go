package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/keydeck/keydeck/model"
	"github.com/spf13/cobra"
)

// Numeric flags are read as strings and parsed here, all of them, so every
// one accepts the same forms and a bad value gets one plain message that
// names the flag and the range, instead of the flag package's strconv text
// (pflag's Int flags also take "+5", "0x10", "1_000" and read "010" as 8).

// parseWhole reads the value of --name: plain decimal digits between lo
// and hi (lo ≥ 0). No sign, spaces, underscores, exponent or base prefix,
// and no leading zero: "010" is 8 to some tools and 10 to others, and a
// value that could mean two things is refused rather than guessed.
func parseWhole(name, s string, lo, hi int64) (int64, error) {
	bad := func(why string) error {
		return usageErrorf("--%s: %s; give a whole number from %d to %d", name, why, lo, hi)
	}
	switch {
	case s == "":
		return 0, bad("empty")
	case !allDigits(s):
		if len(s) > 1 && s[0] == '-' && allDigits(s[1:]) {
			return 0, bad("cannot be negative")
		}
		return 0, bad(fmt.Sprintf("%q is not plain digits", model.Sanitize(s, 24)))
	case len(s) > 1 && s[0] == '0':
		return 0, bad(fmt.Sprintf("%q has a leading zero", model.Sanitize(s, 24)))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > hi { // only ErrRange is possible here
		return 0, bad("too large")
	}
	if v < lo {
		return 0, bad("too small")
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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
// is a usage error, and so is an empty item ("read,,write", "read,"):
// it is more likely a name lost in editing than meant. Spaces around an
// item and repeats ("read,read") are harmless and accepted.
func parsePerm(s string) (model.Permission, error) {
	p, err := model.ParsePermissions(s)
	if err != nil {
		return 0, usageErrorf("--perm: %v", err)
	}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			return 0, usageErrorf("--perm: %q has an empty item; give a comma-separated subset of read, write, delete", model.Sanitize(s, 40))
		}
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
