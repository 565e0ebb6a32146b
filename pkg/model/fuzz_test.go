package model_test

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/steps-dev/steps/pkg/model"
)

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-03-04 05:06:07", "2026-03-04", "2026-03-04T05:06:07.123456789+02:00", "", "0000-00-00", "2026-03-04 05:06:07.", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _, err := model.ParseTime(s)
		if err != nil {
			return
		}
		if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 {
			t.Fatalf("ParseTime(%q) = %v: not UTC microseconds", s, got)
		}
		again, _, err := model.ParseTime(got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v does not round-trip: %v, %v", s, got, again, err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("api", "1.2.0", "ana", "build", "prod")
	f.Add("", "v", "o", "s", "")
	f.Add("a\x00", "\xff", " ", "\u0085", "😀")
	f.Fuzz(func(t *testing.T, component, version, owner, status, env string) {
		in := model.StepInput{Component: component, Version: version, Owner: owner, Status: status, Environment: env}
		if err := in.Validate(); err != nil {
			if model.ErrorCode(err) != model.EINVALID {
				t.Fatalf("Validate: %v is not EINVALID", err)
			}
			return
		}
		for _, v := range []string{component, version, owner} {
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 128 || v == "" {
				t.Fatalf("accepted %q", v)
			}
		}
		if utf8.RuneCountInString(status) > 64 || utf8.RuneCountInString(env) > 64 {
			t.Fatalf("accepted status %q env %q", status, env)
		}
	})
}

func FuzzCursor(f *testing.F) {
	f.Add("MTc2NzMyMzA0NTAwMDAwMC4y")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := model.ParseCursor(token)
		if err != nil {
			return
		}
		again, err := model.ParseCursor(c.String())
		if err != nil || again.ID != c.ID || !again.Time.Equal(c.Time) {
			t.Fatalf("cursor %q does not round-trip", token)
		}
	})
}
