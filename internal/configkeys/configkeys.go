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
// info") is listed as a key of its own.
func Check(keys, known []string) error {
	ok := map[string]bool{}
	for _, k := range known {
		for ok[k] = true; strings.Contains(k, "."); ok[k] = true {
			k = k[:strings.LastIndexByte(k, '.')]
		}
	}
	for _, k := range keys {
		if !ok[k] {
			return fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(known, ", "))
		}
	}
	return nil
}
