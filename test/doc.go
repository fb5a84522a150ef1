// Package test holds snowbot's end-to-end tests: they build the real binary,
// run it as a process and drive it over HTTP against the fakes in the
// subpackages (a fake Bot Framework and a fake ServiceNow instance).
package test
