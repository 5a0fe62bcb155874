"""The probe runner: measured state growth and per-step cost of OSP modules."""
