// Package deploycheck holds the offline checks of deploy/: the Compose file loads and
// validates with the compose-spec library (no container engine runs in CI), and the image
// gives its non-root user a writable /data.
package deploycheck
