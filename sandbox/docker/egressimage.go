package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// egressImageRepo is the repository of the sidecar image; the tag is the
// first 16 hex digits of the herdbot binary's sha256.
const egressImageRepo = "herdbot-egress"

// egressUser is the sidecar's uid:gid (nobody).
const egressUser = "65534:65534"

// ensureEgressImage builds the sidecar image from the herdbot binary unless
// an image for this exact binary exists, and returns its tag. A changed
// binary gets a new tag, so it is rebuilt.
func (b *Backend) ensureEgressImage(ctx context.Context) (string, error) {
	b.egressMu.Lock()
	defer b.egressMu.Unlock()
	if b.egressImage != "" {
		return b.egressImage, nil
	}
	bin := b.cfg.HerdbotBinary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("egress image: find the herdbot binary: %w", err)
		}
		bin = exe
	}
	sum, err := checkStaticBinary(bin)
	if err != nil {
		return "", fmt.Errorf("egress image: %w", err)
	}
	tag := egressImageRepo + ":" + sum[:16]
	labels, ok, err := b.imageLabels(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("egress image: %w", err)
	}
	if !ok || labels[LabelContent] != sum {
		lbl := map[string]string{LabelManaged: "1", LabelRole: roleEgressImg, LabelContent: sum, LabelInstallation: b.cfg.Installation}
		dockerfile := "FROM scratch\nCOPY herdbot /herdbot\nUSER " + egressUser + "\nENTRYPOINT [\"/herdbot\", \"egress\"]\n"
		err := b.buildImage(ctx, tag, lbl, func(tw *tar.Writer) error {
			if err := tarFile(tw, "Dockerfile", 0o644, []byte(dockerfile)); err != nil {
				return err
			}
			return tarCopy(tw, "herdbot", bin, 0o555)
		})
		if err != nil {
			return "", fmt.Errorf("egress image: %w", err)
		}
		b.log.Info("egress sidecar image built", "image", tag, "binary", bin)
	}
	b.egressImage = tag
	return tag, nil
}

// checkStaticBinary returns the file's sha256 (hex) and refuses a
// dynamically linked binary, which cannot run in a FROM scratch image.
func checkStaticBinary(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("herdbot binary: %w", err)
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return "", fmt.Errorf("herdbot binary %s: not an ELF executable: %w", path, err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("herdbot binary %s is dynamically linked; build it with CGO_ENABLED=0 (make build)", path)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("herdbot binary: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
