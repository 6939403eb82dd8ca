package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExitCodes keeps README.md's exit-code table and the list in
// efs help the same, code for code and word for word (less backquotes).
func TestReadmeExitCodes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| (.+) \\|$")
	var fromReadme []string
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		fromReadme = append(fromReadme, m[1]+" "+strings.ReplaceAll(m[2], "`", ""))
	}
	var fromHelp []string
	for _, line := range strings.Split(strings.TrimSpace(exitCodesHelp), "\n")[1:] {
		code, meaning, _ := strings.Cut(strings.TrimSpace(line), "  ")
		fromHelp = append(fromHelp, code+" "+meaning)
	}
	if strings.Join(fromReadme, "\n") != strings.Join(fromHelp, "\n") {
		t.Errorf("README.md exit codes:\n%s\n\nefs help exit codes:\n%s", strings.Join(fromReadme, "\n"), strings.Join(fromHelp, "\n"))
	}
}
