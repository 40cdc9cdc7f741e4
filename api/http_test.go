package api

import (
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
)

func TestOperationForMethod(t *testing.T) {
	for m, want := range map[string]model.Operation{"GET": model.OpRead, "HEAD": model.OpRead, "POST": model.OpWrite, "PUT": model.OpWrite, "PATCH": model.OpWrite, "DELETE": model.OpDelete} {
		if op, ok := OperationForMethod(m); !ok || op != want {
			t.Errorf("%s -> %v", m, op)
		}
	}
	if _, ok := OperationForMethod("OPTIONS"); ok {
		t.Error("OPTIONS maps to an operation")
	}
}

func TestStatus(t *testing.T) {
	for v, want := range map[model.Verdict]int{model.Allowed: 200, model.DeniedUnauthorized: 401, model.DeniedForbidden: 403, model.DeniedQuota: 429, model.DeniedCredits: 402} {
		if got := Status(v); got != want {
			t.Errorf("%v maps to %d", v, got)
		}
	}
}

func TestShowURLHidesUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://keys.example.com/v1":                "https://keys.example.com/v1",
		"http://admin:hunter2@up.example:8080/":      "http://…@up.example:8080/",
		"ftp://user:pass@files.example":              "ftp://…@files.example",
		"https://tok3n@keys.example.com":             "https://…@keys.example.com",
		"http://u:p ss@bad host/%zz":                 "http://…@bad host/%zz", // does not parse
		"http://x/?t=kdt_" + strings.Repeat("A", 40): "http://x/?t=kdt…[redacted]",
		"http://x/\x1b[2J":                           "http://x/?[2J",
	} {
		got := ShowURL(in)
		if got != want {
			t.Errorf("ShowURL(%q) = %q, want %q", in, got, want)
		}
		for _, leak := range []string{"hunter2", "pass", "tok3n", "p ss"} {
			if strings.Contains(got, leak) {
				t.Errorf("ShowURL(%q) = %q shows %q", in, got, leak)
			}
		}
	}
}
