package main

import "github.com/spf13/cobra"

func (e *env) tenantCmd() *cobra.Command { return &cobra.Command{Use: "tenant", Short: "Manage tenants"} }
func (e *env) keysCmd() *cobra.Command   { return &cobra.Command{Use: "keys", Short: "Manage APP keys"} }
func (e *env) benchCmd() *cobra.Command  { return &cobra.Command{Use: "bench", Short: "Load test"} }
