package main

import "github.com/spf13/cobra"

// gatewayCmds are the card gateway's operator commands (issue 3; none yet).
func (e *env) gatewayCmds() []*cobra.Command { return nil }

// gatewayScenarios are the card gateway's load scenarios (issue 3; none yet).
func gatewayScenarios() map[string]scenarioFactory { return nil }
