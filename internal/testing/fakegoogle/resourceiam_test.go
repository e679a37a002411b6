package fakegoogle

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestCheckPermission(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	repo := RepositoryResource("my-project", "us", "private")
	otherRepo := RepositoryResource("my-project", "us", "other")
	for _, b := range []struct{ resource, role, member string }{
		{
			resource: ProjectResource("my-project"),
			role:     RoleArtifactRegistryReader,
			member:   AttributePrincipalSet(testProvider, "repository", testRepo),
		},
		{
			resource: repo,
			role:     RoleArtifactRegistryReader,
			member:   ServiceAccountMember(testSA),
		},
		{
			resource: ProjectResource("legacy-project"),
			role:     "roles/storage.objectViewer",
			member:   ServiceAccountMember(testSA),
		},
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
		{
			name:       "federated token, project binding reaches its repositories",
			req:        checkPermissionRequest{AccessToken: federated, Resource: repo, Permission: PermDownloadArtifacts},
			wantStatus: 200,
			want:       answer{federatedPrincipal, true},
		},
		{
			name:       "federated token, another project",
			req:        checkPermissionRequest{AccessToken: federated, Resource: RepositoryResource("other-project", "us", "private"), Permission: PermDownloadArtifacts},
			wantStatus: 200,
			want:       answer{federatedPrincipal, false},
		},
		{
			name:       "reader does not upload",
			req:        checkPermissionRequest{AccessToken: federated, Resource: repo, Permission: PermUploadArtifacts},
			wantStatus: 200,
			want:       answer{federatedPrincipal, false},
		},
		{
			name:       "repository binding",
			req:        checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: repo, Permission: PermDownloadArtifacts},
			wantStatus: 200,
			want:       answer{ServiceAccountMember(testSA), true},
		},
		{
			name:       "repository binding does not reach a sibling repository",
			req:        checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: otherRepo, Permission: PermDownloadArtifacts},
			wantStatus: 200,
			want:       answer{ServiceAccountMember(testSA), false},
		},
		{
			name:       "legacy storage role grants storage.objects.get",
			req:        checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: ProjectResource("legacy-project"), Permission: PermStorageObjectsGet},
			wantStatus: 200,
			want:       answer{ServiceAccountMember(testSA), true},
		},
		{
			name:       "legacy storage role is not an Artifact Registry role",
			req:        checkPermissionRequest{Member: ServiceAccountMember(testSA), Resource: RepositoryResource("legacy-project", "us", "gcr.io"), Permission: PermDownloadArtifacts},
			wantStatus: 200,
			want:       answer{ServiceAccountMember(testSA), false},
		},
		{
			name:       "revoked token",
			req:        checkPermissionRequest{AccessToken: revoked, Resource: repo, Permission: PermDownloadArtifacts},
			wantStatus: 400,
			want:       answer{},
			wantError:  "invalid_token",
		},
		{
			name:       "unknown token",
			req:        checkPermissionRequest{AccessToken: "ya29.bogus", Resource: repo, Permission: PermDownloadArtifacts},
			wantStatus: 400,
			want:       answer{},
			wantError:  "invalid_token",
		},
		{
			name:       "federated principal by name",
			req:        checkPermissionRequest{Member: federatedPrincipal, Resource: repo, Permission: PermDownloadArtifacts},
			wantStatus: 400,
			want:       answer{},
			wantError:  "must be named by its access token",
		},
		{
			name:       "both token and member",
			req:        checkPermissionRequest{AccessToken: federated, Member: ServiceAccountMember(testSA), Resource: repo, Permission: PermDownloadArtifacts},
			wantStatus: 400,
			want:       answer{},
			wantError:  "exactly one of accessToken and member",
		},
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
		{
			resource: "projects/p",
			role:     "roles/artifactregistry.raeder",
			member:   "serviceAccount:a@p.iam.gserviceaccount.com",
			wantErr:  "not one the fake knows",
		},
		{
			resource: "projects/p/repositories/r",
			role:     RoleArtifactRegistryReader,
			member:   "serviceAccount:a@p.iam.gserviceaccount.com",
			wantErr:  "neither projects/P",
		},
		{
			resource: "p",
			role:     RoleArtifactRegistryReader,
			member:   "serviceAccount:a@p.iam.gserviceaccount.com",
			wantErr:  "neither projects/P",
		},
		{
			resource: "projects/p",
			role:     RoleArtifactRegistryReader,
			wantErr:  "empty member",
		},
	} {
		t.Run(tc.wantErr, func(t *testing.T) {
			t.Parallel()

			err := g.GrantRole(tc.resource, tc.role, tc.member)
			if check.ErrDiff(err, tc.wantErr) != "" {
				t.Errorf("GrantRole(%q, %q, %q) = %v, want an error containing %q", tc.resource, tc.role, tc.member, err, tc.wantErr)
			}

		})
	}
}
