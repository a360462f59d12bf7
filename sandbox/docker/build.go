package docker

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// buildTimeout bounds one image build (the agent image context is ~400 MB).
const buildTimeout = 15 * time.Minute

// buildImage builds an image with the classic builder from a tar context
// that writeContext streams (no registry is needed for FROM scratch). A
// failed build still answers HTTP 200, so every line of the response is
// checked for an error.
func (b *Backend) buildImage(ctx context.Context, tag string, labels map[string]string, writeContext func(tw *tar.Writer) error) error {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()

	pr, pw := io.Pipe()
	writeDone := make(chan error, 1)
	go func() {
		tw := tar.NewWriter(pw)
		err := writeContext(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
		writeDone <- err
	}()
	res, err := b.cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		Labels:      labels,
	})
	if err != nil {
		pr.CloseWithError(err)
		<-writeDone
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	buildErr := readBuildStream(res.Body)
	res.Body.Close()
	pr.CloseWithError(errors.New("build finished"))
	if werr := <-writeDone; werr != nil && buildErr == nil && !strings.Contains(werr.Error(), "build finished") {
		buildErr = werr
	}
	if buildErr != nil {
		return fmt.Errorf("build image %s: %w", tag, buildErr)
	}
	return nil
}

// readBuildStream reads the build's JSON lines to the end and returns the
// first error one reports.
func readBuildStream(r io.Reader) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// tarFile adds a regular file with the given content.
func tarFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// tarCopy adds the host file src (following symbolic links) as name.
func tarCopy(tw *tar.Writer, name, src string, mode int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// tarDir adds a directory entry.
func tarDir(tw *tar.Writer, name string, mode int64, uid, gid int) error {
	return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: mode, Typeflag: tar.TypeDir, Uid: uid, Gid: gid, ModTime: time.Unix(0, 0)})
}

// tarSymlink adds a symbolic link.
func tarSymlink(tw *tar.Writer, name, target string) error {
	return tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, Typeflag: tar.TypeSymlink, ModTime: time.Unix(0, 0)})
}

// imageLabels returns the labels of a local image, or ok=false when there
// is no image with that reference.
func (b *Backend) imageLabels(ctx context.Context, ref string) (labels map[string]string, ok bool, err error) {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	res, err := b.cli.ImageInspect(cctx, ref)
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if res.Config != nil {
		labels = res.Config.Labels
	}
	return labels, true, nil
}

// ImageExists reports whether the engine has an image named ref (herdbot
// never pulls one).
func (b *Backend) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, ok, err := b.imageLabels(ctx, ref)
	return ok, err
}
