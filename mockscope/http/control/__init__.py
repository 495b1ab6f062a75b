"""The control plane under /_mockscope/: one route (`dispatch`) and its handlers."""
