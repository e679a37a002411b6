package container

import (
	"path/filepath"
	"strings"
)

// Kubeconfig maps where the kubeconfig is into this container: the
// kubeconfig input (a path, or inline content left as is) and every entry
// of $KUBECONFIG, which getenv then answers with the mapped list. It fails
// first, saying why and the ways out, when the file the step was given is
// not visible in the container, or when nothing was given and the runner's
// ~/.kube/config cannot be. Outside a docker action nothing changes.
func Kubeconfig(input string, getenv func(string) string, readFile func(string) ([]byte, error)) (string, func(string) string, error) {
	kc := input
	if kc != "" && !strings.Contains(kc, "\n") {
		kc = Path(kc, getenv)
		if err := CheckKubeconfigVisible(`input "kubeconfig"`, input, kc, getenv, readFile); err != nil {
			return "", nil, err
		}
	}
	mappedEnv := getenv
	if v := getenv("KUBECONFIG"); v != "" {
		// $KUBECONFIG may list several files; map each into the container.
		paths := filepath.SplitList(v)
		for i, p := range paths {
			paths[i] = Path(p, getenv)
			if input == "" {
				if err := CheckKubeconfigVisible("$KUBECONFIG entry", p, paths[i], getenv, readFile); err != nil {
					return "", nil, err
				}
			}
		}
		mapped := strings.Join(paths, string(filepath.ListSeparator))
		mappedEnv = func(k string) string {
			if k == "KUBECONFIG" {
				return mapped
			}
			return getenv(k)
		}
	}
	if input == "" && getenv("KUBECONFIG") == "" {
		if err := CheckDefaultKubeconfigVisible(getenv, readFile); err != nil {
			return "", nil, err
		}
	}
	return kc, mappedEnv, nil
}
