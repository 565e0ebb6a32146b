// Package configkeys checks the keys of a config file against the settings
// a program has, for stepsd and stepsctl alike: a typo (rate_limt: 10) is
// an error naming it, not a key silently ignored that leaves the default
// in force.
package configkeys

import (
	"fmt"
	"strings"
)

// Check returns an error naming the first of keys (dotted, as viper lists
// them) that is no setting of known. A section above a setting is taken
// too: one whose keys are all commented out ("log:" above "# level:
// info") is listed as a key of its own. But a section given a value
// ("auth: write:…", "limits: 5", "log: debug") is an error: viper would
// read every setting under it as unset, leaving the API open or the
// limits at 0 without a word. get returns a key's value (nil when none).
func Check(keys, known []string, get func(key string) any) error {
	settings := map[string]bool{}
	sections := map[string][]string{}
	for _, k := range known {
		settings[k] = true
		for s := k; strings.Contains(s, "."); {
			s = s[:strings.LastIndexByte(s, '.')]
			sections[s] = append(sections[s], k)
		}
	}
	for _, k := range keys {
		under, section := sections[k]
		if !settings[k] && !section {
			return fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(known, ", "))
		}
		if !section || get == nil {
			continue
		}
		switch get(k).(type) {
		case nil, map[string]any:
		default:
			// The value is not shown: under auth or hooks it is a secret.
			name := k[strings.LastIndexByte(k, '.')+1:]
			next, _, _ := strings.Cut(strings.TrimPrefix(under[0], k+"."), ".")
			return fmt.Errorf("key %q has a value, but it is a section: write its settings (%s) indented under it (%q, then %q on the next line)",
				k, strings.Join(under, ", "), name+":", "  "+next+": …")
		}
	}
	return nil
}
