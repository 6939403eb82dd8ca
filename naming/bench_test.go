package naming

import "testing"

// BenchmarkEncryptName encrypts a typical 20-byte name (what readdir of the
// reverse view does per entry).
func BenchmarkEncryptName(b *testing.B) {
	for _, enc := range []Encoding{Base32, Base64} {
		b.Run(enc.String(), func(b *testing.B) {
			n := testNamer(b, enc, 0)
			b.SetBytes(20)
			for b.Loop() {
				n.EncryptName("photos/2024", "IMG_20240101_120000")
			}
		})
	}
}

// BenchmarkDecryptName decrypts the same name (lookup in the forward view).
func BenchmarkDecryptName(b *testing.B) {
	n := testNamer(b, Base32, 0)
	full := n.EncryptName("photos/2024", "IMG_20240101_120000")
	b.SetBytes(20)
	for b.Loop() {
		if _, err := n.DecryptName("photos/2024", full); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptNameParallel is EncryptName on all cores.
func BenchmarkEncryptNameParallel(b *testing.B) {
	n := testNamer(b, Base32, 0)
	b.SetBytes(20)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.EncryptName("photos/2024", "IMG_20240101_120000")
		}
	})
}
