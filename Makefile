# Thin wrappers; the scripts are the source of truth (and work without make).
.PHONY: test unit integration e2e demo bench image tidy

test:        ; scripts/test
unit:        ; scripts/test unit
integration: ; scripts/test integration
e2e:         ; scripts/test e2e
demo:        ; scripts/demo
bench:       ; scripts/bench
image:       ; docker build -t pullsecret:dev .
tidy:        ; go mod tidy && gofmt -w $$(git ls-files '*.go')
