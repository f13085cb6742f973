package main

import "github.com/spf13/cobra"

// walletCmds are the e-wallet's operator commands (issue 4; none yet).
func (e *env) walletCmds() []*cobra.Command { return nil }

// walletScenarios are the e-wallet's load scenarios (issue 4; none yet).
func walletScenarios() map[string]scenarioFactory { return nil }
