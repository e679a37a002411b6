package fakeci

import (
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// Provider is the Workload Identity provider the printed gcloud setup
// creates, as fakegoogle models it: the same issuer, audience, mapping and
// CEL condition text, with the keys fetched from jwksURL (the fake's
// address stands in for the CI's public one).
func (i *Issuer) Provider(name, jwksURL, audience string, mapping [][2]string, condition string) (fakegoogle.Provider, error) {
	cond, err := fakegoogle.Condition(condition)
	if err != nil {
		return fakegoogle.Provider{}, err
	}
	m := make(map[string]string, len(mapping))
	for _, kv := range mapping {
		m[kv[0]] = kv[1]
	}
	return fakegoogle.Provider{
		Name:               name,
		IssuerURI:          i.Issuer(),
		JWKSURL:            jwksURL,
		AllowedAudiences:   []string{audience},
		AttributeMapping:   m,
		AttributeCondition: cond,
	}, nil
}
