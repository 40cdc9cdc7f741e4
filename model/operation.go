package model

import (
	"fmt"
	"strings"
)

// Operation is what a verified request wants to do.
type Operation uint8

const (
	OpRead Operation = iota + 1
	OpWrite
	OpDelete
)

// Kind is the quota an operation counts against.
type Kind uint8

const (
	KindQuery Kind = iota + 1
	KindMutation
)

func (k Kind) String() string {
	if k == KindQuery {
		return "query"
	}
	return "mutation"
}

// ParseOperation reads "read", "write" or "delete".
func ParseOperation(s string) (Operation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return OpRead, nil
	case "write":
		return OpWrite, nil
	case "delete":
		return OpDelete, nil
	}
	return 0, &ValidationError{Field: "operation", Msg: fmt.Sprintf("unknown operation %q (use read, write or delete)", Sanitize(s, 20))}
}

// Permission is the permission the operation needs.
func (o Operation) Permission() Permission {
	switch o {
	case OpRead:
		return PermRead
	case OpWrite:
		return PermWrite
	case OpDelete:
		return PermDelete
	}
	return 0
}

// Kind is the quota the operation uses: reads are queries, the rest mutations.
func (o Operation) Kind() Kind {
	if o == OpRead {
		return KindQuery
	}
	return KindMutation
}

func (o Operation) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	case OpDelete:
		return "delete"
	}
	return "unknown"
}
