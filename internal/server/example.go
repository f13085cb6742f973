package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Example builds an example of a request body of type t for the OpenAPI
// document: every JSON field of a struct, with the value of its `example`
// tag when it has one (JSON, or else taken as a string), otherwise a value
// of its type: "string", 1, true, an RFC 3339 time, one element of a slice,
// an empty object for a map or free JSON.
func Example(t reflect.Type) any { return example(t, 0) }

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

func example(t reflect.Type, depth int) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 6 {
		return nil
	}
	switch {
	case t == timeType:
		return "2026-11-21T09:30:00Z"
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		addFields(m, t, depth)
		return m
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return []any{example(t.Elem(), depth+1)}
	case reflect.Map, reflect.Interface:
		return map[string]any{}
	case reflect.String:
		return "string"
	case reflect.Bool:
		return true
	case reflect.Float32, reflect.Float64:
		return 1.5
	default:
		return 1
	}
}

// addFields adds t's JSON fields to m (embedded structs' fields inline).
func addFields(m map[string]any, t reflect.Type, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(m, f.Type, depth)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if tag, ok := f.Tag.Lookup("example"); ok {
			var v any = tag
			if ft := indirect(f.Type); ft.Kind() != reflect.String || ft == timeType {
				if err := json.Unmarshal([]byte(tag), &v); err != nil {
					v = tag
				}
			}
			m[name] = v
			continue
		}
		m[name] = example(f.Type, depth+1)
	}
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
