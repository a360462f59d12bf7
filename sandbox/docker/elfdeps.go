package docker

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

// libDirs are searched, in order, for the shared libraries an executable
// needs (Debian's multiarch layout first).
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// elfDeps returns the program interpreter and every shared library an ELF
// executable needs, transitively (what `ldd` lists), as absolute paths on
// this host. A static executable has neither.
func elfDeps(path string) (interp string, libs []string, err error) {
	seen := map[string]bool{}
	var visit func(p string, top bool) error
	visit = func(p string, top bool) error {
		f, err := elf.Open(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		defer f.Close()
		if top {
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					b := make([]byte, prog.Filesz)
					if _, err := prog.ReadAt(b, 0); err != nil {
						return fmt.Errorf("read %s interpreter: %w", p, err)
					}
					for len(b) > 0 && b[len(b)-1] == 0 {
						b = b[:len(b)-1]
					}
					interp = string(b)
				}
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("read %s libraries: %w", p, err)
		}
		for _, name := range needed {
			lib, err := findLib(name)
			if err != nil {
				return fmt.Errorf("%s needs %s: %w", p, name, err)
			}
			if seen[lib] {
				continue
			}
			seen[lib] = true
			libs = append(libs, lib)
			if err := visit(lib, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(path, true); err != nil {
		return "", nil, err
	}
	return interp, libs, nil
}

func findLib(name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	for _, d := range libDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in %v", libDirs)
}
