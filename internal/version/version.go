// Package version says which build of a steps program is running, in one
// format for stepsd and stepsctl: the version, the commit and the Go
// release, read from the build info that go build records in the binary.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// String returns "NAME VERSION (commit COMMIT, GO, OS/ARCH)" for the
// running binary. v is the version set at build time with
// -ldflags "-X main.version=1.2.3"; when empty, the module version from
// the build info is used, "(devel)" for a build from a working tree.
func String(name, v string) string {
	info, _ := debug.ReadBuildInfo() // nil without build info
	return format(name, v, info, runtime.GOOS+"/"+runtime.GOARCH)
}

// Number returns the version alone, as String shows it: v, else the
// module version from the build info, else "(devel)". The build_info
// metric carries it, so that it names a build as "stepsd version" does.
func Number(v string) string {
	info, _ := debug.ReadBuildInfo() // nil without build info
	return number(v, info)
}

func number(v string, info *debug.BuildInfo) string {
	if v == "" && info != nil {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

// format is String with the build info (nil when the binary has none) and
// the platform given, so that tests can pass their own.
func format(name, v string, info *debug.BuildInfo, platform string) string {
	commit, goVersion := "unknown", runtime.Version()
	if info != nil {
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		var revision string
		var modified bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if revision != "" {
			commit = revision[:min(12, len(revision))]
			if modified {
				commit += "-dirty"
			}
		}
	}
	return fmt.Sprintf("%s %s (commit %s, %s, %s)", name, number(v, info), commit, goVersion, platform)
}
