package fakegoogle

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckPermission(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	repo := RepositoryResource("my-project", "us", "private")
	otherRepo := RepositoryResource("my-project", "us", "other")
	for _, b := range []struct{ resource, role, member string }{
		{ProjectResource("my-project"), RoleArtifactRegistryReader, AttributePrincipalSet(testProvider, "repository", testRepo)},
		{repo, RoleArtifactRegistryReader, ServiceAccountMember(testSA)},
		{ProjectResource("legacy-project"), "roles/storage.objectViewer", ServiceAccountMember(testSA)},
	} {
		if err := w.google.GrantRole(b.resource, b.role, b.member); err != nil {
			t.Fatal(err)
		}
	}
	federated := w.federatedToken(t)
	revoked := w.federatedToken(t)
	w.google.RevokeToken(revoked)
	federatedPrincipal := SubjectPrincipal(testProvider, "repo:"+testRepo+":ref:refs/heads/main")

	type answer struct {
		Principal string `json:"principal"`
		Granted   bool   `json:"granted"`
	}
	for _, tc := range []struct {
		name       string
		req        checkPermissionRequest
		wantStatus int
		want       answer
		wantError  string // in the error body, for non-200 answers
	}{
		{"federated token, project binding reaches its repositories",
			checkPermissionRequest{AccessToken: federated, Resource: repo, Permission: PermDownloadArtifacts},
			200, answer{federatedPrincipal, true}, ""},
		{"federated token, another project",
			checkPermissionRequest{AccessToken: federated, Resource: RepositoryResource("other-project", "us", "private"), Permission: PermDownloadArtifacts},
			200, answer{federatedPrincipal, false}, ""},
		{"reader does not upload",
			checkPermissionRequest{AccessToken: federated, Resource: repo, Permission: PermUploadArtifacts},
			200, answer{federatedPrincipal, false}, ""},
		{"repository binding",
			checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: repo, Permission: PermDownloadArtifacts},
			200, answer{ServiceAccountMember(testSA), true}, ""},
		{"repository binding does not reach a sibling repository",
			checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: otherRepo, Permission: PermDownloadArtifacts},
			200, answer{ServiceAccountMember(testSA), false}, ""},
		{"legacy storage role grants storage.objects.get",
			checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: ProjectResource("legacy-project"), Permission: PermStorageObjectsGet},
			200, answer{ServiceAccountMember(testSA), true}, ""},
		{"legacy storage role is not an Artifact Registry role",
			checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: RepositoryResource("legacy-project", "us", "gcr.io"), Permission: PermDownloadArtifacts},
			200, answer{ServiceAccountMember(testSA), false}, ""},
		{"revoked token",
			checkPermissionRequest{AccessToken: revoked, Resource: repo, Permission: PermDownloadArtifacts},
			400, answer{}, "invalid_token"},
		{"unknown token",
			checkPermissionRequest{AccessToken: "ya29.bogus", Resource: repo, Permission: PermDownloadArtifacts},
			400, answer{}, "invalid_token"},
		{"federated principal by name",
			checkPermissionRequest{Member: federatedPrincipal, Resource: repo, Permission: PermDownloadArtifacts},
			400, answer{}, "must be named by its access token"},
		{"both token and member",
			checkPermissionRequest{AccessToken: federated, Member: ServiceAccountMember(testSA), Resource: repo, Permission: PermDownloadArtifacts},
			400, answer{}, "exactly one of accessToken and member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body, _ := json.Marshal(tc.req)
			req, _ := http.NewRequest(http.MethodPost, w.url+"/fakegoogle/v1/checkPermission", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, raw)
			}
			if tc.wantStatus != 200 {
				if !strings.Contains(string(raw), tc.wantError) {
					t.Fatalf("body %s, want it to contain %q", raw, tc.wantError)
				}
				return
			}
			var got answer
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGrantRoleRefusesWhatIAMRefuses(t *testing.T) {
	t.Parallel()
	g, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ resource, role, member, wantErr string }{
		{"projects/p", "roles/artifactregistry.raeder", "serviceAccount:a@p.iam.gserviceaccount.com", "not one the fake knows"},
		{"projects/p/repositories/r", RoleArtifactRegistryReader, "serviceAccount:a@p.iam.gserviceaccount.com", "neither projects/P"},
		{"p", RoleArtifactRegistryReader, "serviceAccount:a@p.iam.gserviceaccount.com", "neither projects/P"},
		{"projects/p", RoleArtifactRegistryReader, "", "empty member"},
	} {
		err := g.GrantRole(tc.resource, tc.role, tc.member)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("GrantRole(%q, %q, %q) = %v, want an error containing %q", tc.resource, tc.role, tc.member, err, tc.wantErr)
		}
	}
}
