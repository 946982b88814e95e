// Package scenarios reads, checks and serves Liaison scenario files: who the
// agencies are, which channels join them, how they behave, which injects
// happen when, and the variants that replay the same story over other
// topologies.
//
// Loading is strict on purpose. A scenario is the whole input of a
// deterministic run, so every mistake is reported at once, each as
// file:line:column with what was wrong and what was expected, and the same
// Go types drive the decoder, the validator and the JSON Schema that editors
// use, so the three cannot drift apart.
package scenarios
