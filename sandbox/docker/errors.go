package docker

import (
	cerrdefs "github.com/containerd/errdefs"
)

func isNotFound(err error) bool { return err != nil && cerrdefs.IsNotFound(err) }

func isConflict(err error) bool { return err != nil && cerrdefs.IsConflict(err) }
