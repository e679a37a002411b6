// Command crictl is the part of cri-tools' crictl that kind v0.30 uses inside
// a node (`crictl images`, `crictl inspecti IMAGE`), because cri-tools is not
// available from the Go module proxy. It speaks CRI v1 to containerd.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	args := os.Args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") { // global flags (e.g. --runtime-endpoint) are not needed
		args = args[1:]
	}
	if len(args) == 0 {
		fail("usage: crictl images | inspecti IMAGE")
	}
	endpoint := os.Getenv("CONTAINER_RUNTIME_ENDPOINT")
	if endpoint == "" {
		endpoint = "unix:///run/containerd/containerd.sock"
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	images := runtimeapi.NewImageServiceClient(conn)

	switch args[0] {
	case "images", "img":
		resp, err := images.ListImages(ctx, &runtimeapi.ListImagesRequest{})
		if err != nil {
			fail(err)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "IMAGE\tTAG\tIMAGE ID\tSIZE")
		for _, img := range resp.Images {
			id := strings.TrimPrefix(img.Id, "sha256:")
			id = id[:min(13, len(id))]
			for _, t := range img.RepoTags {
				i := strings.LastIndex(t, ":")
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", t[:i], t[i+1:], id, img.Size)
			}
		}
		_ = w.Flush()
	case "inspecti":
		if len(args) < 2 {
			fail("usage: crictl inspecti IMAGE")
		}
		ref := args[len(args)-1]
		resp, err := images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err != nil {
			fail(err)
		}
		if resp.Image == nil {
			fail("no such image: " + ref)
		}
		// The camelCase field names crictl prints; kind reads status.id and status.repoTags.
		out, _ := json.MarshalIndent(map[string]any{"status": map[string]any{
			"id":          resp.Image.Id,
			"repoTags":    resp.Image.RepoTags,
			"repoDigests": resp.Image.RepoDigests,
			"size":        fmt.Sprint(resp.Image.Size),
			"pinned":      resp.Image.Pinned,
		}}, "", "  ")
		fmt.Println(string(out))
	default:
		fail("crictl (e2e subset): unsupported command " + args[0])
	}
}

func fail(v any) {
	fmt.Fprintln(os.Stderr, v)
	os.Exit(1)
}
