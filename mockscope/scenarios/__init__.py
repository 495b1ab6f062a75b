"""Scenarios: rules that match calls and pick an outcome, read from every declaration form
through one pipeline (`reading`), and the shaping of a task's plan from its outcome."""
