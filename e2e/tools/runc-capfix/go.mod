module github.com/pullsecret/pullsecret/e2e/tools/runc-capfix

go 1.26.0
