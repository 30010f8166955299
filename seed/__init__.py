"""Reference data and the synthetic force."""
