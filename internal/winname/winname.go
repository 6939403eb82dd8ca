// Package winname maps file names Windows cannot hold to names it can,
// reversibly, for a restore onto Windows.
//
// Windows refuses the characters < > : " | ? * \ / and the control
// characters 0x00-0x1F anywhere in a name, a name that ends with a dot or
// a space, and the device names (CON, PRN, AUX, NUL, CONIN$, CONOUT$,
// COM0-9, LPT0-9, also with ¹²³ and with any extension, in any case).
// Encode replaces each offending character by a look-alike, as rclone's
// encoder does: the fullwidth form of a punctuation character (< is
// U+FF1C), a control picture for a control character (0x01 is U+2401), a
// fullwidth full stop or the symbol for space for a final dot or space,
// and the fullwidth form of the first letter of a device name (con.txt is
// ｃon.txt). A byte that is not UTF-8, which a UTF-16 name cannot hold,
// becomes U+F780 plus its value minus 0x80, in the private use area.
//
// The mapping is reversible for every name: a look-alike already in the
// name, or the escape character U+201B itself, is written after an escape
// character U+201B, so Decode(Encode(x)) == x. A name Windows can hold and
// that has neither look-alikes nor the escape character is left as it is.
package winname

import (
	"strings"
	"unicode/utf8"
)

// escape marks the next rune as literal (U+201B SINGLE HIGH-REVERSED-9
// QUOTATION MARK, as rclone quotes).
const escape = '\u201B'

// badByte is where a byte that is not UTF-8 goes: badByte + b - 0x80.
const badByte = 0xF780

// Look-alikes of a final dot or space.
const (
	finalDot   = '\uFF0E' // FULLWIDTH FULL STOP
	finalSpace = '\u2420' // SYMBOL FOR SPACE
)

// lookalike is the character Encode writes for r anywhere in a name, or 0
// for a character Windows accepts.
func lookalike(r rune) rune {
	switch r {
	case '<', '>', ':', '"', '|', '?', '*', '\\', '/':
		return r - '!' + '\uFF01' // the fullwidth forms, in ASCII order
	}
	if r < 0x20 {
		return 0x2400 + r // the control pictures
	}
	return 0
}

// original inverts lookalike (and the mapping of bytes that are not
// UTF-8): the rune, or the byte (rune < 0), r stands for, and whether it
// stands for one.
func original(r rune) (orig rune, ok bool) {
	switch {
	case r >= 0x2400 && r < 0x2420:
		return r - 0x2400, true
	case r >= badByte && r < badByte+0x80:
		return -(r - badByte + 0x80), true
	case r > '\uFF01' && r < '\uFF60' && lookalike(r-'\uFF01'+'!') == r:
		return r - '\uFF01' + '!', true
	}
	return 0, false
}

// Encode returns a name Windows can hold that Decode maps back to name.
// An empty name stays empty.
func Encode(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 8)
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		last := i+n == len(name)
		i += n
		switch _, isLookalike := original(r); {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(badByte + rune(name[i-1]) - 0x80)
		case lookalike(r) != 0:
			b.WriteRune(lookalike(r))
		case last && r == '.':
			b.WriteRune(finalDot)
		case last && r == ' ':
			b.WriteRune(finalSpace)
		case r == escape || isLookalike || (last && (r == finalDot || r == finalSpace)):
			b.WriteRune(escape)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	switch {
	case reserved(s):
		// A device name starts with an ASCII letter: its fullwidth form.
		return string(rune(s[0])-'!'+'\uFF01') + s[1:]
	case deviceLookalike(s):
		return string(escape) + s
	}
	return s
}

// deviceLookalike reports whether s starts with the fullwidth form of a
// letter that would make it a device name, which Decode would turn back.
func deviceLookalike(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	if r < '\uFF21' || r > '\uFF5A' {
		return false
	}
	return reserved(string(r-'\uFF01'+'!') + s[n:])
}

// Decode inverts Encode. In a name Encode cannot have written (an escape
// character at the end), what cannot be decoded stays as it is.
func Decode(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	if deviceLookalike(name) {
		r, n := utf8.DecodeRuneInString(name)
		b.WriteRune(r - '\uFF01' + '!')
		name = name[n:]
	}
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		i += n
		if r == escape && i < len(name) {
			_, n = utf8.DecodeRuneInString(name[i:])
			b.WriteString(name[i : i+n])
			i += n
			continue
		}
		last := i == len(name)
		orig, ok := original(r)
		switch {
		case last && r == finalDot:
			b.WriteByte('.')
		case last && r == finalSpace:
			b.WriteByte(' ')
		case ok && orig < 0:
			b.WriteByte(byte(-orig))
		case ok:
			b.WriteRune(orig)
		default:
			b.WriteString(name[i-n : i])
		}
	}
	return b.String()
}

// Valid reports whether Windows can hold name as a file name: not empty,
// UTF-8, none of < > : " | ? * \\ / or a control character, no final dot
// or space, and no device name.
func Valid(name string) bool {
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if lookalike(r) != 0 {
			return false
		}
	}
	if last := name[len(name)-1]; last == '.' || last == ' ' {
		return false
	}
	return !reserved(name)
}

// reserved reports whether name is a device name, with or without an
// extension: Windows compares the part before the first dot, less its
// final spaces, in any case.
func reserved(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) < 4 || (base[:3] != "COM" && base[:3] != "LPT") {
		return false
	}
	switch base[3:] {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
		return true
	}
	return false
}
