"""The simulated world: tasks, time, ids and images. Knows nothing of HTTP."""
