package kube

import (
	"context"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// metadataOnly asks the API server for a list's metadata alone
// (PartialObjectMetadataList): a secret's data never leaves the server.
const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

// ListSecretMetadata lists, across namespaces, the metadata (labels,
// annotations) of the secrets named name that carry labelSelector. The
// API server sends no data: `pullsecret status` never holds a
// credential. It needs `list` on secrets cluster-wide (resourceNames may
// narrow it to name).
func ListSecretMetadata(ctx context.Context, c *Client, name, labelSelector string) ([]metav1.PartialObjectMetadata, error) {
	return retryCall(ctx, c.budget, read, func(ctx context.Context) ([]metav1.PartialObjectMetadata, error) {
		raw, err := c.json.Get().AbsPath("/api/v1/secrets").
			Param("fieldSelector", fields.OneTermEqualSelector("metadata.name", name).String()).
			Param("labelSelector", labelSelector).
			SetHeader("Accept", metadataOnly).MaxRetries(0).Do(ctx).Raw()
		if err != nil {
			return nil, err
		}
		var list metav1.PartialObjectMetadataList
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		return list.Items, nil
	})
}
