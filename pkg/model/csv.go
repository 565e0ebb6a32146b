package model

import "strings"

// CSVHeader is the header row of CSV exports. The original API's columns
// come first, in its order and under its names (ts is the step's time), so
// scripts written for it keep working; ours follow.
var CSVHeader = []string{"component", "version", "owner", "status", "ts", "environment", "id", "received_at"}

// formulaLead holds the characters that make a spreadsheet run a cell as a
// formula, plus the quote that marks a neutralised cell, so that a value
// which really starts with a quote survives an export and import unchanged.
const formulaLead = "=+-@\t\r'"

// NeutraliseCell prefixes a cell a spreadsheet would run as a formula with a
// single quote, which spreadsheets show as text. UnneutraliseCell undoes it.
func NeutraliseCell(v string) string {
	if v != "" && strings.IndexByte(formulaLead, v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// UnneutraliseCell reverses NeutraliseCell.
func UnneutraliseCell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && strings.IndexByte(formulaLead, v[1]) >= 0 {
		return v[1:]
	}
	return v
}
