"""Simulations of the external systems Distillery talks to, for tests and demos.

`distillery_sandbox.workload`: the simulated voice-AI workload (a clinic's appointment
line). `distillery_sandbox.langfuse`: a Langfuse public-API sandbox serving it. These are
simulations and say so; they are never used when real credentials are configured.
"""
