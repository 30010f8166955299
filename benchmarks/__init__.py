"""Scale benchmarks behind `vigil bench`."""
