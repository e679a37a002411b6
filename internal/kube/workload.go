package kube

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// WorkloadArgs are the first container's arguments of the CronJob
// namespace/name, else of the Deployment of that name (a refresher in
// cron or watch mode); nil when neither exists. The error is the API
// server's.
func (c *Client) WorkloadArgs(ctx context.Context, namespace, name string) ([]string, error) {
	var cj struct {
		Spec struct {
			JobTemplate struct {
				Spec struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
	err := c.getJSON(ctx, Object{APIVersion: "batch/v1", Resource: "cronjobs", Namespace: namespace, Name: name}.Path(), &cj)
	if err == nil {
		return firstArgs(cj.Spec.JobTemplate.Spec.Template.Spec), nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	var dep struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	err = c.getJSON(ctx, Object{APIVersion: "apps/v1", Resource: "deployments", Namespace: namespace, Name: name}.Path(), &dep)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return firstArgs(dep.Spec.Template.Spec), nil
}

func firstArgs(p corev1.PodSpec) []string {
	if len(p.Containers) == 0 {
		return []string{}
	}
	return p.Containers[0].Args
}
